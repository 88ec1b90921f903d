package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Fds;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed input, one case per fresh connection: each gets its expected status (or a clean
 * close), the node keeps serving others, and no file descriptor is left behind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputTest {
  /** Expected outcome: the connection is closed without a response. */
  static final int CLOSED = -1;

  static Vertx vertx;
  static Origin origin;
  static Node node;
  static int baselineFds;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    JsonObject config = TestNodes.config(dir, List.of(443));
    config.getJsonObject("proxy").put("maxHeaderSize", 8192).put("maxUriLength", 2048);
    config.put("timeouts", new JsonObject().put("header", "1s"));
    node = TestNodes.start(config);
    assertGoodRequestWorks(); // warm up: the upstream pool holds its connection before the baseline
    baselineFds = Fds.open();
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
  }

  static String origin(String path) {
    return "http://127.0.0.1:" + origin.httpPort() + path;
  }

  static Stream<Arguments> cases() {
    String get = "GET " + origin("/hello") + " HTTP/1.1\r\nHost: x\r\n";
    String post = "POST " + origin("/upload") + " HTTP/1.1\r\nHost: x\r\n";
    List<Arguments> c = new ArrayList<>();
    c.add(Arguments.of("garbage request line", "garbage\r\n\r\n", 400));
    c.add(Arguments.of("method only", "GET\r\n\r\n", 400));
    c.add(Arguments.of("binary junk", "\u0001\u0002\u0003\u0004\r\n\r\n", 400));
    c.add(Arguments.of("TLS ClientHello to the plain listener", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003" + "\u0000".repeat(40) + "\r\n\r\n", 400));
    c.add(Arguments.of("unknown HTTP version", "GET " + origin("/hello") + " HTTP/9.9\r\nHost: x\r\n\r\n", 505));
    c.add(Arguments.of("CONNECT without a port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT port 0", "CONNECT example.com:0 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT port 70000", "CONNECT example.com:70000 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT empty port", "CONNECT example.com: HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT path form", "CONNECT /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT absolute URL", "CONNECT http://example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT with userinfo", "CONNECT user:pw@example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT bad IPv6 literal", "CONNECT [::g]:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("CONNECT to a port not allowed", "CONNECT example.com:22 HTTP/1.1\r\nHost: x\r\n\r\n", 403));
    c.add(Arguments.of("absolute URL with userinfo", "GET http://user:pw@127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("origin form (not a proxy request)", "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("unsupported scheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("https in absolute form", "GET https://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("empty host", "GET http:///path HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("bad character in host", "GET http://exa%20mple.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("port out of range in URL", "GET http://example.com:99999/ HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("headers over the limit", get + "X-Big: " + "a".repeat(10_000) + "\r\n\r\n", 431));
    c.add(Arguments.of("URI over the limit", "GET " + origin("/" + "a".repeat(3000)) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414));
    c.add(Arguments.of("Content-Length with Transfer-Encoding", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400));
    c.add(Arguments.of("duplicate differing Content-Length", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400));
    c.add(Arguments.of("non-numeric Content-Length", post + "Content-Length: abc\r\n\r\n", 400));
    c.add(Arguments.of("negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400));
    c.add(Arguments.of("NUL in a header value", get + "X-A: a\u0000b\r\n\r\n", 400));
    c.add(Arguments.of("NUL in the request line", "GET " + origin("/hel\u0000lo") + " HTTP/1.1\r\nHost: x\r\n\r\n", 400));
    c.add(Arguments.of("bare CR in a header", get + "X-A: a\rb\r\n\r\n", 400));
    c.add(Arguments.of("obs-fold", get + "X-A: a\r\n b\r\n\r\n", 400));
    c.add(Arguments.of("header line without a colon", get + "NoColonHere\r\n\r\n", 400));
    c.add(Arguments.of("space before the colon", get + "X-A : b\r\n\r\n", 400));
    c.add(Arguments.of("bad character in a header name", get + "X(A): b\r\n\r\n", 400));
    // The head was valid and already forwarded: a broken body can only be answered by closing.
    c.add(Arguments.of("bad chunk size", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", CLOSED));
    c.add(Arguments.of("DEL in a header value", get + "X-A: a\u007fb\r\n\r\n", 400));
    c.add(Arguments.of("head never finished (header timeout)", get, 408));
    c.add(Arguments.of("nothing sent at all (header timeout)", "", 408));
    return c.stream();
  }

  @Order(1)
  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("cases")
  void answersOrCloses(String name, String input, int expected) throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.send(input);
      String head = raw.readHead();
      int status = head.isEmpty() ? CLOSED : Raw.status(head);
      assertEquals(expected, status, name + ": " + head);
      if (status >= 400) {
        assertTrue(ForwardTest.header(head, "x-tollgate-reason") != null || status == 414 || status == 431 || head.contains("400 Bad Request"), "a reason: " + head);
      }
      assertTrue(raw.closedByPeer(), name + ": the connection is closed after the answer");
    }
    assertGoodRequestWorks();
  }

  @Order(2)
  @Test
  void clientThatDisconnectsMidBodyLosesNothingForOthers() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.send("POST " + origin("/upload") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(10_000));
    }
    assertGoodRequestWorks();
  }

  @Order(3)
  @Test
  void fileDescriptorsReturnToTheBaseline() throws Exception {
    assertGoodRequestWorks();
    int now = Fds.settleTo(baselineFds, 10_000);
    assertTrue(now <= baselineFds, "open fds: " + now + ", baseline " + baselineFds);
  }

  static void assertGoodRequestWorks() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET " + origin("/hello") + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head), head);
      assertEquals("hello", raw.readToClose());
    }
  }
}
