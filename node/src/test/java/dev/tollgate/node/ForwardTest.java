package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Absolute-form forwarding over real sockets: bodies, headers, keep-alive, upgrades, failures. */
class ForwardTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static Node xffNode;

  @BeforeAll
  static void start(@TempDir Path dir) {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    node = TestNodes.start(TestNodes.config(dir.resolve("a"), List.of(origin.echoPort())));
    // The second node reveals the client and gives up on a silent upstream after one second.
    JsonObject other = TestNodes.config(dir.resolve("b"), List.of());
    other.getJsonObject("proxy").put("xForwardedFor", true);
    other.put("timeouts", new JsonObject().put("idle", "1s"));
    xffNode = TestNodes.start(other);
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    Await.result(xffNode.stop());
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  private String url(String path) {
    return "http://127.0.0.1:" + origin.httpPort() + path;
  }

  private static String body(Raw raw, String head) throws Exception {
    int length = Integer.parseInt(header(head, "content-length"));
    return new String(raw.readN(length), StandardCharsets.ISO_8859_1);
  }

  static String header(String head, String name) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  @Test
  void forwardsAndAddsVia() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + url("/hello") + " HTTP/1.1\r\nHost: ignored\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head), head);
      assertEquals("hello", body(raw, head));
      assertTrue(header(head, "via").contains("test-node"), head);
    }
  }

  @Test
  void removesHopByHopHeadersAndHidesTheClient() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head =
          raw.send(
                  "GET " + url("/headers") + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive, X-Secret\r\n"
                      + "X-Secret: 1\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\n"
                      + "Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade-Insecure-Requests: 1\r\nX-Kept: yes\r\n\r\n")
              .readHead();
      JsonObject seen = new JsonObject(body(raw, head));
      for (String gone : List.of("connection", "x-secret", "proxy-authorization", "proxy-connection", "keep-alive", "te", "trailer", "x-forwarded-for", "forwarded")) {
        assertFalse(seen.containsKey(gone), gone + " reached the origin: " + seen);
      }
      assertEquals("yes", seen.getString("x-kept"));
      assertEquals("1", seen.getString("upgrade-insecure-requests"));
      assertEquals("127.0.0.1:" + origin.httpPort(), seen.getString("host"));
      assertTrue(seen.getString("via").startsWith("1.1 test-node"), seen.encode());
    }
  }

  @Test
  void xForwardedForWhenSwitchedOn() throws Exception {
    try (Raw raw = new Raw(xffNode.proxyPort())) {
      String head = raw.send("GET " + url("/headers") + " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n").readHead();
      JsonObject seen = new JsonObject(body(raw, head));
      assertEquals("203.0.113.9, 127.0.0.1", seen.getString("x-forwarded-for"));
    }
  }

  @Test
  void keepAliveBothWaysReusesTheUpstreamConnection() throws Exception {
    int before = origin.connections.get();
    try (Raw raw = new Raw(node.proxyPort())) {
      for (int i = 0; i < 5; i++) {
        String head = raw.send("GET " + url("/hello") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
        assertEquals(200, Raw.status(head));
        assertEquals("hello", body(raw, head));
      }
    }
    assertTrue(origin.connections.get() - before <= 1, "upstream connections opened: " + (origin.connections.get() - before));
  }

  @Test
  void streamsUploadsWithLengthAndChunked() throws Exception {
    int size = 8 << 20;
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.send("POST " + url("/upload") + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n");
      byte[] chunk = new byte[64 * 1024];
      for (int sent = 0; sent < size; sent += chunk.length) {
        raw.send(chunk);
      }
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head);
      assertEquals(size, new JsonObject(body(raw, head)).getLong("bytes"));

      raw.send("POST " + url("/upload") + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 10; i++) {
        raw.send("3e8\r\n" + "x".repeat(1000) + "\r\n");
      }
      raw.send("0\r\n\r\n");
      head = raw.readHead();
      JsonObject result = new JsonObject(body(raw, head));
      assertEquals(10_000, result.getLong("bytes"));
      assertTrue(result.getBoolean("chunked"), "a chunked upload stays chunked: " + result);
    }
  }

  @Test
  void streamsChunkedDownloads() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + url("/chunked?n=300000") + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readHead();
      assertEquals("chunked", header(head, "transfer-encoding"), head);
      String rest = raw.readToClose();
      assertTrue(rest.endsWith("0\r\n\r\n"), "the chunked body ends properly");
    }
  }

  @Test
  void headAndNoContentResponses() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("HEAD " + url("/bytes?n=5000") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head));
      assertEquals("5000", header(head, "content-length"));
      head = raw.send("GET " + url("/status/204") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(204, Raw.status(head), head);
      head = raw.send("GET " + url("/hello") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals("hello", body(raw, head), "the connection is still in sync after HEAD and 204");
    }
  }

  @Test
  void webSocketUpgradeRelaysFrames() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head =
          raw.send(
                  "GET " + url("/ws") + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .readHead();
      assertEquals(101, Raw.status(head), head);
      assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", header(head, "sec-websocket-accept"));
      byte[] mask = {1, 2, 3, 4};
      byte[] payload = "ping".getBytes(StandardCharsets.US_ASCII);
      byte[] frame = new byte[6 + payload.length];
      frame[0] = (byte) 0x81;
      frame[1] = (byte) (0x80 | payload.length);
      System.arraycopy(mask, 0, frame, 2, 4);
      for (int i = 0; i < payload.length; i++) {
        frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
      }
      raw.send(frame);
      byte[] echoed = raw.readN(2 + payload.length);
      assertEquals((byte) 0x81, echoed[0]);
      assertEquals("ping", new String(echoed, 2, payload.length, StandardCharsets.US_ASCII));
    }
  }

  @Test
  void upstreamResetMidResponseClosesTheClient() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + url("/reset") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head));
      assertTrue(raw.closedByPeer(), "the client sees the connection close, never a hang");
    }
  }

  @Test
  void silentUpstreamIs504() throws Exception {
    try (Raw raw = new Raw(xffNode.proxyPort())) {
      String head = raw.send("GET " + url("/never") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(504, Raw.status(head), head);
      assertTrue(header(head, "x-tollgate-reason").contains("in time"), head);
    }
  }

  @Test
  void requestsToTheProxyItselfAreRefused() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET http://127.0.0.1:" + node.proxyPort() + "/ HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(403, Raw.status(head), head);
      assertTrue(header(head, "x-tollgate-reason").contains("loop"), head);
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + url("/hello") + " HTTP/1.1\r\nHost: x\r\nVia: 1.1 test-node (tollgate)\r\n\r\n").readHead();
      assertEquals(403, Raw.status(head), head);
    }
  }

  @Test
  void h2cPriorKnowledgeForwards() {
    HttpClientAgent client =
        vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try {
      for (int i = 0; i < 3; i++) {
        var options =
            new RequestOptions()
                .setServer(SocketAddress.inetSocketAddress(node.proxyPort(), "127.0.0.1"))
                .setHost("127.0.0.1")
                .setPort(origin.httpPort())
                .setMethod(HttpMethod.GET)
                .setURI("/hello");
        Buffer body = Await.result(client.request(options).compose(r -> r.send().compose(resp -> {
          assertEquals(HttpVersion.HTTP_2, resp.version());
          assertTrue(resp.getHeader("via").toLowerCase(Locale.ROOT).startsWith("1.1 test-node"));
          return resp.body();
        })));
        assertEquals("hello", body.toString());
      }
    } finally {
      Await.result(client.close());
    }
  }

  @Test
  void bytesAreExactOverTheWire() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + url("/bytes?n=1000000") + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      byte[] got = raw.readN(1_000_000);
      assertArrayEquals(new byte[1_000_000], got);
      assertEquals("1000000", header(head, "content-length"));
    }
  }
}
