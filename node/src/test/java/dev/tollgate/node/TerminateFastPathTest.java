package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.node.fixtures.ClosingBackend;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.Ports;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The terminating listener's HTTP/1.1 fast path over real TLS sockets, byte for byte: the
 * headers a backend and a client see, kept-alive and pipelined requests, framing of bodyless and
 * chunked answers, uploads, the hand-over to Vert.x's path (chunked uploads, WebSockets), a
 * backend that drops kept connections, and failures.
 */
class TerminateFastPathTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static TestPki.Ca ca;
  static ClosingBackend closing;
  static int port;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    closing = new ClosingBackend();
    ca = TestPki.ca("Test Server CA");
    Path certs = dir.resolve("certs");
    ca.server("fast.test", "fast.test", "closer.test", "down.test", "named.test").write(certs, "fast");
    int closed = Ports.unused();
    JsonObject listener =
        TestNodes.terminateListener("fast", certs, "fast", "http://127.0.0.1:" + origin.httpPort())
            .put("routes", new JsonObject()
                .put("fast.test", "http://127.0.0.1:" + origin.httpPort())
                .put("closer.test", "http://127.0.0.1:" + closing.port())
                .put("down.test", "http://127.0.0.1:" + closed)
                .put("named.test", "http://localhost:" + origin.httpPort()))
            .put("hsts", new JsonObject().put("maxAge", "1d"));
    JsonObject config =
        TestNodes.config(dir.resolve("node"), List.of())
            .put("terminate", new JsonArray().add(listener))
            .put("timeouts", new JsonObject().put("idle", "1s"));
    node = TestNodes.start(config);
    port = node.terminatePort("fast");
  }

  @AfterAll
  static void stop() throws IOException {
    Await.result(node.stop());
    origin.close();
    closing.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  static Raw connect(String sni) throws Exception {
    return new Raw(TlsClients.socket(port, sni, ca.certPem()));
  }

  /** A response read off the wire: its head and its body, de-chunked when chunked. */
  record Answer(String head, byte[] body) {
    int status() {
      return Raw.status(head);
    }

    String header(String name) {
      return ForwardTest.header(head, name);
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** Reads one response framed by Content-Length or chunked encoding (none: no body, as for HEAD/204/304). */
  static Answer read(Raw raw, boolean bodyless) throws IOException {
    String head = raw.readHead();
    if (bodyless || head.isEmpty()) {
      return new Answer(head, new byte[0]);
    }
    String length = ForwardTest.header(head, "content-length");
    if (length != null) {
      return new Answer(head, raw.readN(Integer.parseInt(length)));
    }
    assertEquals("chunked", ForwardTest.header(head, "transfer-encoding"), head);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    InputStream in = raw.in();
    while (true) {
      String size = line(in);
      int n = Integer.parseInt(size.split(";")[0].trim(), 16);
      if (n == 0) {
        while (!line(in).isEmpty()) {
          // trailers
        }
        return new Answer(head, body.toByteArray());
      }
      body.write(in.readNBytes(n));
      assertEquals("", line(in));
    }
  }

  static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  static String get(String path, String host) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  }

  @Test
  void keptAliveRequestsTakeTheFastPathWithTheEdgeHeaders() throws Exception {
    long before = node.terminateFastPathExchanges();
    int connections = origin.connections.get();
    try (Raw raw = connect("fast.test")) {
      for (int i = 0; i < 5; i++) {
        raw.send("GET /headers?i=" + i + " HTTP/1.1\r\nHost: fast.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
            + "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil.test\r\nX-Kept: yes\r\n\r\n");
        Answer a = read(raw, false);
        assertEquals(200, a.status(), a.head());
        assertEquals("max-age=86400", a.header("strict-transport-security"));
        assertTrue(a.header("via").contains("test-node (tollgate)"), a.head());
        assertNull(a.header("connection"), a.head());
        JsonObject seen = new JsonObject(a.text());
        assertEquals("127.0.0.1:" + origin.httpPort(), seen.getString("host"));
        assertEquals("127.0.0.1", seen.getString("x-forwarded-for"));
        assertEquals("https", seen.getString("x-forwarded-proto"));
        assertEquals("fast.test", seen.getString("x-forwarded-host"));
        assertEquals("for=127.0.0.1;proto=https;host=\"fast.test\"", seen.getString("forwarded"));
        assertEquals("1.1 test-node (tollgate)", seen.getString("via"));
        assertEquals("yes", seen.getString("x-kept"));
        assertFalse(seen.containsKey("x-hop"), "named in Connection: hop-by-hop");
        assertFalse(seen.containsKey("keep-alive"));
        assertFalse(seen.containsKey("connection"));
      }
    }
    assertEquals(5, node.terminateFastPathExchanges() - before, "all five on the fast path");
    assertTrue(origin.connections.get() - connections <= 1, "one kept backend connection for five requests");
  }

  @Test
  void aNewPolicyDecidesTheNextRequestOnAKeptConnection() throws Exception {
    Control control = new Control(node);
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/hello", "fast.test"));
      assertEquals(200, read(raw, false).status());
      JsonObject policy = new JsonObject().put("rules", new JsonArray().add(new JsonObject()
          .put("id", "no-fast").put("action", "deny").put("listeners", new JsonArray().add("fast")).put("hosts", new JsonArray().add("fast.test"))));
      assertEquals(200, control.put("/v1/policy", policy).status());
      raw.send(get("/hello", "fast.test"));
      Answer denied = read(raw, false);
      assertEquals(403, denied.status(), denied.head());
      assertTrue(denied.header(FailureResponder.REASON_HEADER).contains("no-fast"), denied.head());
      assertEquals("max-age=86400", denied.header("strict-transport-security"));
    } finally {
      control.put("/v1/policy", new JsonObject());
    }
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/hello", "fast.test"));
      assertEquals("hello", read(raw, false).text(), "the rule gone, requests pass again");
    }
  }

  @Test
  void aBackendNamedByHostNameIsLookedUpOffTheLoopAndKept() throws Exception {
    long before = node.terminateFastPathExchanges();
    try (Raw raw = connect("named.test")) {
      for (int i = 0; i < 2; i++) {
        raw.send(get("/headers", "named.test"));
        Answer a = read(raw, false);
        assertEquals(200, a.status(), a.head());
        assertEquals("localhost:" + origin.httpPort(), new JsonObject(a.text()).getString("host"));
      }
    }
    assertEquals(2, node.terminateFastPathExchanges() - before);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/bytes?n=10", "fast.test") + get("/hello", "fast.test") + get("/chunked?n=3000", "fast.test") + get("/status/204", "fast.test")
          + get("/hello", "fast.test"));
      assertEquals(10, read(raw, false).body().length);
      assertEquals("hello", read(raw, false).text());
      Answer chunked = read(raw, false);
      assertEquals(3000, chunked.body().length, chunked.head());
      assertEquals(204, read(raw, true).status());
      assertEquals("hello", read(raw, false).text());
    }
  }

  @Test
  void bodylessAnswersKeepTheConnectionFramed() throws Exception {
    try (Raw raw = connect("fast.test")) {
      raw.send("HEAD /bytes?n=100 HTTP/1.1\r\nHost: fast.test\r\n\r\n");
      Answer head = read(raw, true);
      assertEquals(200, head.status());
      assertEquals("100", head.header("content-length"));
      raw.send("HEAD /chunked?n=100 HTTP/1.1\r\nHost: fast.test\r\n\r\n");
      Answer headChunked = read(raw, true);
      assertEquals(200, headChunked.status(), headChunked.head());
      raw.send(get("/status/204", "fast.test"));
      assertEquals(204, read(raw, true).status());
      raw.send(get("/status/304", "fast.test"));
      assertEquals(304, read(raw, true).status());
      raw.send(get("/hello", "fast.test"));
      Answer after = read(raw, false);
      assertEquals("hello", after.text(), "nothing stray before the next answer: " + after.head());
    }
  }

  @Test
  void uploadsStreamToTheBackendChunkedOnesThroughVertx() throws Exception {
    byte[] data = new byte[3 << 20];
    new Random(7).nextBytes(data);
    try (Raw raw = connect("fast.test")) {
      long before = node.terminateFastPathExchanges();
      raw.send("POST /upload HTTP/1.1\r\nHost: fast.test\r\nContent-Length: " + data.length + "\r\n\r\n");
      raw.send(data);
      JsonObject got = new JsonObject(read(raw, false).text());
      assertEquals(data.length, got.getLong("bytes"));
      assertEquals(Origin.sha256(data), got.getString("sha256"));
      assertEquals(1, node.terminateFastPathExchanges() - before);

      raw.send("POST /upload HTTP/1.1\r\nHost: fast.test\r\nTransfer-Encoding: chunked\r\n\r\n");
      OutputStream out = raw.out();
      for (int off = 0; off < data.length; off += 1 << 20) {
        out.write(((Integer.toHexString(1 << 20)) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data, off, 1 << 20);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      raw.send("0\r\n\r\n");
      JsonObject chunked = new JsonObject(read(raw, false).text());
      assertEquals(Origin.sha256(data), chunked.getString("sha256"));
      assertEquals(1, node.terminateFastPathExchanges() - before, "a chunked upload is Vert.x's");
      raw.send(get("/hello", "fast.test"));
      assertEquals("hello", read(raw, false).text(), "the connection stays with Vert.x and keeps working");
    }
  }

  @Test
  void aWebSocketAfterFastRequestsIsHandedToVertx() throws Exception {
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/hello", "fast.test"));
      assertEquals("hello", read(raw, false).text());
      raw.send("GET /ws HTTP/1.1\r\nHost: fast.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      String head = raw.readHead();
      assertEquals(101, Raw.status(head), head);
      byte[] mask = {1, 2, 3, 4};
      byte[] payload = "hi".getBytes(StandardCharsets.US_ASCII);
      raw.send(new byte[] {(byte) 0x81, (byte) 0x82, mask[0], mask[1], mask[2], mask[3], (byte) (payload[0] ^ mask[0]), (byte) (payload[1] ^ mask[1])});
      assertArrayEquals(new byte[] {(byte) 0x81, 2, 'h', 'i'}, raw.readN(4), "echoed through the relayed upgrade");
    }
  }

  @Test
  void aKeptBackendConnectionTheBackendDroppedIsRetriedOnce() throws Exception {
    int before = closing.connections.get();
    try (Raw raw = connect("closer.test")) {
      for (int i = 0; i < 3; i++) {
        raw.send(get("/", "closer.test"));
        Answer a = read(raw, false);
        assertEquals(200, a.status(), "request " + i + ": " + a.head());
        assertEquals("ok", a.text());
      }
    }
    assertEquals(3, closing.connections.get() - before, "a new backend connection for each request");
    assertEquals(2, closing.dropped.get(), "the second and third were first sent on a kept connection the backend then dropped");
  }

  @Test
  void failuresAreAnsweredAndCloseTheConnection() throws Exception {
    try (Raw raw = connect("down.test")) {
      raw.send(get("/", "down.test"));
      Answer a = read(raw, false);
      assertEquals(502, a.status(), a.head());
      assertTrue(a.header(FailureResponder.REASON_HEADER).contains("refused"), a.head());
      assertEquals("max-age=86400", a.header("strict-transport-security"));
      assertEquals("close", a.header("connection"));
      assertTrue(raw.closedByPeer());
    }
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/never", "fast.test"));
      Answer a = read(raw, false);
      assertEquals(504, a.status(), a.head());
      assertTrue(raw.closedByPeer());
    }
  }

  @Test
  void aClientLeavingMidResponseLeavesNothingBehind() throws Exception {
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/bytes?n=" + (64 << 20), "fast.test"));
      assertEquals(200, Raw.status(raw.readHead()));
      raw.readN(1 << 16);
    }
    try (Raw raw = connect("fast.test")) {
      raw.send(get("/hello", "fast.test"));
      assertEquals("hello", read(raw, false).text());
    }
  }
}
