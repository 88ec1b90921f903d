package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificates replaced under traffic: requests on an open connection keep succeeding, new
 * handshakes get the new certificate, and a bad file (garbage, or a key of another certificate)
 * keeps the one in force.
 */
class CertificateReloadTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static TestPki.Ca ca;
  static Path certs;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ca = TestPki.ca("Test Server CA");
    certs = dir.resolve("certs");
    ca.server("reload-v1", "reload.test").write(certs, "site");
    JsonObject listener =
        TestNodes.terminateListener("site", certs, "site", "http://127.0.0.1:" + origin.httpPort());
    // Poll quickly so that the test sees file changes soon; read once, when the node starts watching.
    System.setProperty("tollgate.certificatePollMillis", "100");
    try {
      node = TestNodes.start(TestNodes.config(dir.resolve("node"), List.of()).put("terminate", new JsonArray().add(listener)));
    } finally {
      System.clearProperty("tollgate.certificatePollMillis");
    }
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  private static String servedCn() throws Exception {
    return TlsClients.cn(TlsClients.serverCertificate(node.terminatePort("site"), "reload.test", ca.certPem()));
  }

  @Test
  void reloadsUnderTrafficAndKeepsTheOldCertificateWhenTheNewOneIsBad() throws Exception {
    assertEquals("reload-v1", servedCn());
    HttpClientAgent client = TlsClients.http(vertx, ca.certPem(), null, false);
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<HttpConnection> connections = new CopyOnWriteArrayList<>();
    Thread traffic = new Thread(() -> {
      while (running.get()) {
        try {
          var a = TerminateTest.send(client, TerminateTest.get(node.terminatePort("site"), "reload.test", "/hello"));
          connections.add(a.response().request().connection());
          if (a.response().statusCode() == 200 && a.body().equals("hello")) {
            ok.incrementAndGet();
          } else {
            failures.add(new AssertionError("status " + a.response().statusCode()));
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      }
    }, "reload-traffic");
    traffic.start();
    try {
      ClusterTest.await(() -> ok.get() > 0, "traffic flows");

      // A new pair, written as an operator would (certificate, then key): new handshakes get it.
      TestPki.Pem v2 = ca.server("reload-v2", "reload.test");
      v2.write(certs, "site");
      ClusterTest.awaitQuietly(() -> servedCn().equals("reload-v2"), "new handshakes see the new certificate");

      // Garbage in the certificate file: refused, the current certificate stays.
      Files.writeString(certs.resolve("site.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
      Await.result(node.reloadCertificates());
      assertEquals("reload-v2", servedCn());

      // A certificate whose key is not the one in the key file: refused too.
      Files.writeString(certs.resolve("site.pem"), ca.server("reload-v3", "reload.test").cert());
      Await.result(node.reloadCertificates());
      assertEquals("reload-v2", servedCn());

      int before = ok.get();
      ClusterTest.await(() -> ok.get() > before + 20, "traffic goes on after the reloads");
    } finally {
      running.set(false);
      traffic.join(20_000);
      Await.result(client.close());
    }
    assertEquals(List.of(), failures);
    assertTrue(ok.get() > 20);
    for (HttpConnection c : connections) {
      assertSame(connections.get(0), c, "every request went over the first kept-alive connection");
    }
  }

  @Test
  void sighupRereadsTheCertificates(@TempDir Path dir) throws Exception {
    Path files = dir.resolve("certs");
    ca.server("hup-v1", "reload.test").write(files, "site");
    JsonObject listener =
        TestNodes.terminateListener("site", files, "site", "http://127.0.0.1:" + origin.httpPort());
    Path config = dir.resolve("tollgate.json");
    Files.writeString(config, TestNodes.config(dir.resolve("node"), List.of()).put("terminate", new JsonArray().add(listener)).encode());
    // Polling is out of the way (an hour), so only the signal can make the node reread the files.
    try (ForkedNode forked = ForkedNode.start(List.of("-Dtollgate.certificatePollMillis=3600000"), List.of("--config", config.toString()))) {
      forked.awaitReady();
      Matcher m = Pattern.compile("terminate=site@https://127\\.0\\.0\\.1:(\\d+)").matcher(forked.output());
      assertTrue(m.find(), forked.output());
      int port = Integer.parseInt(m.group(1));
      assertEquals("hup-v1", TlsClients.cn(TlsClients.serverCertificate(port, "reload.test", ca.certPem())));
      ca.server("hup-v2", "reload.test").write(files, "site");
      assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(forked.process().pid())).start().waitFor());
      String[] last = {"nothing yet"};
      try {
        ClusterTest.await(() -> {
          try {
            last[0] = TlsClients.cn(TlsClients.serverCertificate(port, "reload.test", ca.certPem()));
          } catch (Exception e) {
            last[0] = e.toString();
          }
          return last[0].equals("hup-v2");
        }, "SIGHUP reloads");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + " (last seen: " + last[0] + "); the node's output:\n" + forked.output(), e);
      }
      assertTrue(forked.process().isAlive(), "SIGHUP does not stop a node with terminating listeners");
    }
  }
}
