package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.Ports;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CONNECT tunnels over real sockets: relay, errors, timeouts, the registry, h2 streams, the TLS listener. */
class ConnectTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static Node shortLived;
  static int closedPort;
  static ServerSocket blackhole;
  static ServerSocket speaker;
  static final List<Socket> backlogFillers = new ArrayList<>();
  static final HttpClient control = HttpClient.newHttpClient();

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    closedPort = Ports.unused();
    blackhole = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
    fillBacklog();
    speaker = speaksFirst();
    List<Integer> ports = List.of(origin.echoPort(), origin.httpPort(), closedPort, blackhole.getLocalPort(), 443, speaker.getLocalPort());
    JsonObject config = TestNodes.config(dir.resolve("a"), ports);
    config.put("timeouts", new JsonObject().put("connect", "1s"));
    node = TestNodes.start(config);
    JsonObject shortConfig = TestNodes.config(dir.resolve("b"), ports);
    shortConfig.put("timeouts", new JsonObject().put("idle", "1s").put("maxLifetime", "3s"));
    shortLived = TestNodes.start(shortConfig);
  }

  /** Fills the accept queue of a socket nobody accepts on: later SYNs are dropped, so connects time out. */
  private static void fillBacklog() {
    for (int i = 0; i < 8; i++) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress("127.0.0.1", blackhole.getLocalPort()), 200);
        backlogFillers.add(s);
      } catch (IOException e) {
        return; // the queue is full
      }
    }
  }

  /** A server that speaks first, as SSH and SMTP do: a banner on accept, then an echo of one line. */
  private static ServerSocket speaksFirst() throws IOException {
    ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread accepter = new Thread(() -> {
      while (!server.isClosed()) {
        try (Socket s = server.accept()) {
          s.getOutputStream().write("SSH-2.0-Banner_Test\r\n".getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().write(s.getInputStream().readNBytes(5));
        } catch (IOException e) {
          // closed at the end, or a client that left
        }
      }
    }, "speaks-first");
    accepter.setDaemon(true);
    accepter.start();
    return server;
  }

  @AfterAll
  static void stop() throws IOException {
    speaker.close();
    Await.result(node.stop());
    Await.result(shortLived.stop());
    origin.close();
    Await.result(vertx.close());
    for (Socket s : backlogFillers) {
      s.close();
    }
    blackhole.close();
  }

  private static Raw connect(Node n, String target) throws IOException {
    Raw raw = new Raw(n.proxyPort());
    raw.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    return raw;
  }

  @Test
  void relaysBothWays() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:" + origin.echoPort())) {
      String head = raw.readHead();
      assertTrue(head.startsWith("HTTP/1.1 200 Connection Established"), head);
      for (int i = 0; i < 3; i++) {
        raw.send("ping-" + i);
        assertEquals("ping-" + i, new String(raw.readN(6), StandardCharsets.US_ASCII));
      }
      byte[] big = new byte[4 << 20];
      new java.util.Random(1).nextBytes(big);
      Thread writer = new Thread(() -> {
        try {
          raw.send(big);
        } catch (IOException ignored) {
          // the assertion below reports it
        }
      });
      writer.start();
      byte[] back = raw.readN(big.length);
      writer.join();
      assertTrue(java.util.Arrays.equals(big, back), "4 MiB come back byte for byte");
    }
  }

  @Test
  void anUpstreamThatSpeaksFirstIsHeard() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:" + speaker.getLocalPort())) {
      assertEquals(200, Raw.status(raw.readHead()));
      assertEquals("SSH-2.0-Banner_Test\r\n", new String(raw.readN(21), StandardCharsets.US_ASCII), "the banner sent on accept, before the 200 reached the client");
      raw.send("hello");
      assertEquals("hello", new String(raw.readN(5), StandardCharsets.US_ASCII));
    }
  }

  @Test
  void bytesSentBehindTheConnectHeadAreRelayed() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      String target = "127.0.0.1:" + origin.echoPort();
      raw.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\nearly bytes\r\n\r\nGET / HTTP/1.1\r\n");
      assertEquals(200, Raw.status(raw.readHead()));
      String back = new String(raw.readN(31), StandardCharsets.US_ASCII);
      assertEquals("early bytes\r\n\r\nGET / HTTP/1.1\r\n", back);
    }
  }

  @Test
  void refusedIs502() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:" + closedPort)) {
      String head = raw.readHead();
      assertEquals(502, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("refused"), head);
      assertEquals("close", ForwardTest.header(head, "connection"));
      assertTrue(raw.closedByPeer());
    }
  }

  @Test
  void connectTimeoutIs504() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:" + blackhole.getLocalPort())) {
      String head = raw.readHead();
      assertEquals(504, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("timed out"), head);
    }
  }

  @Test
  void dnsFailureIs502() throws Exception {
    try (Raw raw = connect(node, "no-such-host.invalid:443")) {
      String head = raw.readHead();
      assertEquals(502, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("DNS"), head);
    }
  }

  @Test
  void portsOutsideTheListAre403() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:25")) {
      String head = raw.readHead();
      assertEquals(403, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("port 25"), head);
    }
  }

  @Test
  void privateAddressesAre403WithoutAnyConnect() throws Exception {
    for (String target : List.of("10.0.0.1:443", "169.254.169.254:443", "[fd00::1]:443", "0x0a000001:443", "[::ffff:10.0.0.1]:443")) {
      try (Raw raw = connect(node, target)) {
        String head = raw.readHead();
        assertEquals(403, Raw.status(head), target + ": " + head);
        assertTrue(ForwardTest.header(head, "x-tollgate-reason").startsWith("private address"), head);
      }
    }
  }

  @Test
  void listsAndKillsTunnels() throws Exception {
    try (Raw raw = connect(node, "127.0.0.1:" + origin.echoPort())) {
      assertEquals(200, Raw.status(raw.readHead()));
      raw.send("hello");
      raw.readN(5);
      JsonArray tunnels = new JsonObject(get("/v1/tunnels")).getJsonArray("tunnels");
      JsonObject mine = null;
      for (int i = 0; i < tunnels.size(); i++) {
        if (tunnels.getJsonObject(i).getString("client").endsWith(":" + raw.socket().getLocalPort())) {
          mine = tunnels.getJsonObject(i);
        }
      }
      assertTrue(mine != null, "the tunnel is listed: " + tunnels);
      assertEquals("127.0.0.1:" + origin.echoPort(), mine.getString("target"));
      assertEquals(5, mine.getLong("bytesUp"));
      assertEquals(5, mine.getLong("bytesDown"));
      assertEquals("test-node", mine.getString("node"));
      HttpResponse<String> deleted = send(HttpRequest.newBuilder(controlUri("/v1/tunnels/" + mine.getString("id"))).header("authorization", "Bearer " + node.controlToken()).DELETE().build());
      assertEquals(200, deleted.statusCode());
      assertTrue(raw.closedByPeer(), "the killed tunnel closes");
      // The client's side closes first; the registry lets the tunnel go once its upstream side has closed too.
      assertTrue(untilUnlisted(mine.getString("id")), "the killed tunnel leaves the listing");
      assertEquals(404, send(HttpRequest.newBuilder(controlUri("/v1/tunnels/" + mine.getString("id"))).header("authorization", "Bearer " + node.controlToken()).DELETE().build()).statusCode());
    }
  }

  /** Whether the tunnel {@code id} is gone from {@code /v1/tunnels} within 10 s. */
  private static boolean untilUnlisted(String id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!get("/v1/tunnels").contains("\"" + id + "\"")) {
        return true;
      }
      Thread.sleep(20);
    }
    return false;
  }

  @Test
  void idleTunnelsClose() throws Exception {
    try (Raw raw = connect(shortLived, "127.0.0.1:" + origin.echoPort())) {
      assertEquals(200, Raw.status(raw.readHead()));
      assertTrue(raw.closedByPeer(), "an idle tunnel is closed");
    }
  }

  @Test
  void busyTunnelsCloseAtTheirMaximumLifetime() throws Exception {
    try (Raw raw = connect(shortLived, "127.0.0.1:" + origin.echoPort())) {
      assertEquals(200, Raw.status(raw.readHead()));
      raw.timeout(300);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      boolean closed = false;
      while (!closed && System.nanoTime() < deadline) {
        try {
          raw.send("x");
          closed = raw.in().read() < 0;
        } catch (IOException e) {
          closed = true;
        }
      }
      assertTrue(closed, "a busy tunnel still ends at its lifetime");
    }
  }

  private static URI controlUri(String path) {
    return URI.create("http://127.0.0.1:" + node.controlPort() + path);
  }

  private static String get(String path) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(controlUri(path)).header("authorization", "Bearer " + node.controlToken()).build());
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  private static HttpResponse<String> send(HttpRequest request) throws Exception {
    return control.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
