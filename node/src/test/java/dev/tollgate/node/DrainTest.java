package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drain with {@code node.drainDelay}: while a load balancer's health checks notice the 503 the
 * listeners still accept and answer, each HTTP/1.x answer closing its connection; only then do they
 * stop accepting. A connection accepted just before the drain gets its answer, not a bare close (a
 * TCP balancer that handed it over could not have retried it).
 */
class DrainTest {
  Vertx vertx;
  Origin origin;
  Node node;
  TestPki.Ca ca;

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    JsonObject config = TestNodes.config(dir.resolve("n"), List.of());
    ca = TestPki.ca("Drain Test CA");
    Path certs = dir.resolve("certs");
    ca.server("svc.example.test", "svc.example.test").write(certs, "svc");
    config.put("terminate", new JsonArray().add(TestNodes.terminateListener("web", certs, "svc", "http://127.0.0.1:" + origin.httpPort())
        .put("hsts", new JsonObject().put("maxAge", "1d"))));
    // Long enough for the steps below on a loaded machine; the test waits it out only once.
    config.getJsonObject("node").put("drainDelay", "3s").put("drainTimeout", "1s");
    node = TestNodes.start(config);
  }

  @AfterEach
  void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  private String get() {
    return "GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\n\r\n";
  }

  @Test
  void theListenersAnswerThroughTheDelayClosingEachConnectionThenStopAccepting() throws Exception {
    try (Raw kept = new Raw(node.proxyPort()); Raw accepted = new Raw(node.proxyPort())) {
      String before = kept.send(get()).readHead();
      assertEquals(200, Raw.status(before));
      assertNull(ForwardTest.header(before, "connection"), "kept alive before the drain");
      kept.readN(5);

      Control control = new Control(node);
      assertEquals(202, control.post("/v1/drain").status());
      assertEquals(503, control.get("/readyz").status(), "not ready at once");

      String onAccepted = accepted.send(get()).readHead();
      assertEquals(200, Raw.status(onAccepted), "a connection accepted before the drain is answered");
      assertEquals("close", ForwardTest.header(onAccepted, "connection"));
      String onKept = kept.send(get()).readHead();
      assertEquals(200, Raw.status(onKept), "a kept-alive connection's next request is answered");
      assertEquals("close", ForwardTest.header(onKept, "connection"));
      try (Raw fresh = new Raw(node.proxyPort())) {
        String head = fresh.send(get()).readHead();
        assertEquals(200, Raw.status(head), "a new connection during the delay is still served");
        assertEquals("close", ForwardTest.header(head, "connection"));
        assertTrue(fresh.timeout(2000).closedByPeer(), "and closed after its answer");
      }
      assertTrue(kept.timeout(2000).closedByPeer(), "the kept-alive connection is closed after its answer");
    }
    Await.result(node.drained());
    assertTrue(refusedOrClosed(node.proxyPort()), "after the delay the listener stops accepting");
  }

  @Test
  void aTerminatingListenerClosesKeptAliveConnectionsThroughTheDelay() throws Exception {
    HttpClientAgent client = TlsClients.http(vertx, ca.certPem(), null, false);
    try {
      TerminateTest.Answer before = TerminateTest.send(client, TerminateTest.get(node.terminatePort("web"), "svc.example.test", "/hello"));
      assertEquals(200, before.response().statusCode());
      assertNull(before.response().getHeader("connection"), "kept alive before the drain");
      assertEquals(202, new Control(node).post("/v1/drain").status());
      TerminateTest.Answer during = TerminateTest.send(client, TerminateTest.get(node.terminatePort("web"), "svc.example.test", "/hello"));
      assertEquals(200, during.response().statusCode(), "answered during the delay");
      assertEquals("close", during.response().getHeader("connection"));
      assertEquals("max-age=86400", during.response().getHeader("strict-transport-security"), "HSTS stays on");
    } finally {
      Await.result(client.close());
    }
    Await.result(node.drained());
  }

  private boolean refusedOrClosed(int port) {
    try (Raw raw = new Raw(port)) {
      return raw.send(get()).timeout(2000).closedByPeer();
    } catch (IOException e) {
      return true; // refused
    }
  }
}
