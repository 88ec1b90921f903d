package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The terminating listener's fast path under a 64 MiB heap: a 1 GiB download to a TLS client that
 * stops reading for a while, and a 1 GiB upload. They only pass if bodies stream with
 * backpressure both ways.
 */
class TerminateBoundedMemoryTest {
  static final long GIB = 1L << 30;
  static Vertx vertx;
  static Origin origin;
  static ForkedNode node;
  static TestPki.Ca ca;
  static int port;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ca = TestPki.ca("Test Server CA");
    Path certs = dir.resolve("certs");
    ca.server("big.test", "big.test").write(certs, "big");
    JsonObject config =
        new JsonObject()
            .put("proxy", new JsonObject().put("listen", "127.0.0.1:0"))
            .put("control", new JsonObject().put("listen", "127.0.0.1:0"))
            .put("node", new JsonObject().put("name", "bounded").put("dataDir", dir.resolve("data").toString()))
            .put("terminate", new JsonArray().add(new JsonObject()
                .put("name", "big")
                .put("listen", "127.0.0.1:0")
                .put("cert", certs.resolve("big.pem").toString())
                .put("key", certs.resolve("big-key.pem").toString())
                .put("routes", new JsonObject().put("*", "http://127.0.0.1:" + origin.httpPort()))));
    Path file = dir.resolve("tollgate.json");
    Files.writeString(file, config.encodePrettily());
    node = ForkedNode.start(List.of("-Xmx64m", "-XX:MaxDirectMemorySize=64m"), List.of("--config", file.toString()));
    node.awaitReady();
    Matcher m = Pattern.compile("terminate=big@https://127\\.0\\.0\\.1:(\\d+)").matcher(node.output());
    assertTrue(m.find(), node.output());
    port = Integer.parseInt(m.group(1));
  }

  @AfterAll
  static void stop() {
    node.close();
    origin.close();
    Await.result(vertx.close());
  }

  @Test
  void gigabyteDownloadToASlowReader() throws Exception {
    try (Raw raw = new Raw(TlsClients.socket(port, "big.test", ca.certPem()))) {
      raw.send("GET /bytes?n=" + GIB + " HTTP/1.1\r\nHost: big.test\r\n\r\n");
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head + node.output());
      Thread.sleep(3000); // a reader that stalls: the listener must stop reading from the backend, not buffer
      assertEquals(GIB, BoundedMemoryTest.drain(raw.in(), GIB), node.output());
    }
  }

  @Test
  void gigabyteUpload() throws Exception {
    try (Raw raw = new Raw(TlsClients.socket(port, "big.test", ca.certPem()))) {
      raw.send("POST /upload HTTP/1.1\r\nHost: big.test\r\nContent-Length: " + GIB + "\r\n\r\n");
      BoundedMemoryTest.sendZeros(raw.out(), GIB);
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head + node.output());
      String body = new String(raw.readN(Integer.parseInt(ForwardTest.header(head, "content-length"))), StandardCharsets.UTF_8);
      assertEquals(GIB, new JsonObject(body).getLong("bytes"));
    }
  }
}
