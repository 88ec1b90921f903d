package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.mitm.Certificates;
import dev.tollgate.mitm.PemKeyPair;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CONNECT tunnels over real sockets: relay, errors, timeouts, the registry, h2 streams, the TLS listener. */
class ConnectTest {
  static Vertx vertx;
  static Origin origin;
  static HttpServer httpsOrigin;
  static Path httpsOriginCert;
  static Node node;
  static Node shortLived;
  static int closedPort;
  static ServerSocket blackhole;
  static final List<Socket> backlogFillers = new ArrayList<>();
  static final HttpClient control = HttpClient.newHttpClient();

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    PemKeyPair pem = Certificates.create().selfSigned("localhost", List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    httpsOriginCert = dir.resolve("origin.pem");
    Files.writeString(httpsOriginCert, pem.certificatePem());
    httpsOrigin =
        vertx.createHttpServer(
                new HttpServerOptions()
                    .setSsl(true)
                    .setKeyCertOptions(new PemKeyCertOptions().setCertValue(Buffer.buffer(pem.certificatePem())).setKeyValue(Buffer.buffer(pem.privateKeyPem()))))
            .requestHandler(r -> r.response().end("secret hello"));
    Await.result(httpsOrigin.listen(0, "127.0.0.1"));
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    blackhole = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
    fillBacklog();
    List<Integer> ports = List.of(origin.echoPort(), origin.httpPort(), httpsOrigin.actualPort(), closedPort, blackhole.getLocalPort(), 443);
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

  @AfterAll
  static void stop() throws IOException {
    Await.result(node.stop());
    Await.result(shortLived.stop());
    origin.close();
    Await.result(httpsOrigin.close());
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

  @Test
  void h2ConnectStreamsShareOneConnection() {
    HttpClientAgent client =
        vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try {
      Set<HttpConnection> connections = new HashSet<>();
      List<Future<String>> echoes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String word = "stream-" + i;
        RequestOptions options =
            new RequestOptions()
                .setMethod(HttpMethod.CONNECT)
                .setServer(SocketAddress.inetSocketAddress(node.proxyPort(), "127.0.0.1"))
                .setHost("127.0.0.1")
                .setPort(origin.echoPort());
        echoes.add(client.request(options).compose(req -> {
          connections.add(req.connection());
          return req.connect().compose(resp -> {
            assertEquals(200, resp.statusCode());
            return echo(resp.netSocket(), word);
          });
        }));
      }
      for (int i = 0; i < 3; i++) {
        assertEquals("stream-" + i, Await.result(echoes.get(i)));
      }
      assertEquals(1, connections.size(), "three tunnels ride one h2 connection");
    } finally {
      Await.result(client.close());
    }
  }

  @Test
  void tlsListenerSpeaksH2AndHttp11() throws Exception {
    Path proxyCert = node.config().dataDir().resolve("proxy-tls-cert.pem");
    for (HttpVersion version : List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1)) {
      HttpClientAgent client =
          vertx.createHttpClient(
              new HttpClientOptions()
                  .setSsl(true)
                  .setUseAlpn(true)
                  .setProtocolVersion(version)
                  .setTrustOptions(new PemTrustOptions().addCertPath(proxyCert.toString())));
      try {
        RequestOptions forward =
            new RequestOptions()
                .setServer(SocketAddress.inetSocketAddress(node.proxyTlsPort(), "127.0.0.1"))
                .setHost("localhost")
                .setPort(node.proxyTlsPort())
                .setMethod(HttpMethod.GET)
                .setURI("http://127.0.0.1:" + origin.httpPort() + "/hello");
        if (version == HttpVersion.HTTP_2) {
          // Vert.x sends :scheme https on a TLS connection, which asks the proxy for an https
          // fetch it does not do (clients use CONNECT for https): only CONNECT is checked on h2.
          forward = null;
        }
        String body = forward == null ? "hello" : fetch(client, forward, version);
        assertEquals("hello", body);
        RequestOptions tunnel =
            new RequestOptions()
                .setMethod(HttpMethod.CONNECT)
                .setServer(SocketAddress.inetSocketAddress(node.proxyTlsPort(), "127.0.0.1"))
                .setHost("127.0.0.1")
                .setPort(origin.echoPort())
                .setURI("127.0.0.1:" + origin.echoPort());
        assertEquals("over-tls", Await.result(client.request(tunnel).compose(r -> r.connect()).compose(resp -> echo(resp.netSocket(), "over-tls"))));
      } finally {
        Await.result(client.close());
      }
    }
  }

  @Test
  void curlAsAnExternalClient() throws Exception {
    String proxy = "127.0.0.1:" + node.proxyPort();
    String plain = "http://127.0.0.1:" + origin.httpPort() + "/hello";
    String secure = "https://localhost:" + httpsOrigin.actualPort() + "/";
    String proxyCa = node.config().dataDir().resolve("proxy-tls-cert.pem").toString();
    String tlsProxy = "https://localhost:" + node.proxyTlsPort();
    assertEquals("hello", curl("-x", proxy, plain));
    assertEquals("hello", curl("-p", "-x", proxy, plain));
    assertEquals("secret hello", curl("-x", proxy, "--cacert", httpsOriginCert.toString(), secure));
    assertEquals("hello", curl("--proxy", tlsProxy, "--proxy-cacert", proxyCa, plain));
    assertEquals("secret hello", curl("--proxy", tlsProxy, "--proxy-cacert", proxyCa, "--cacert", httpsOriginCert.toString(), secure));
    assertEquals("hello", curl("--http2-prior-knowledge", "-x", proxy, plain));
  }

  private static String fetch(HttpClientAgent client, RequestOptions options, HttpVersion version) {
    return Await.result(client.request(options).compose(r -> r.send().compose(resp -> {
      assertEquals(version, resp.version());
      return resp.body();
    }))).toString();
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(15, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + " -> " + out);
    return out;
  }

  private static Future<String> echo(NetSocket socket, String word) {
    Buffer got = Buffer.buffer();
    io.vertx.core.Promise<String> done = io.vertx.core.Promise.promise();
    socket.handler(b -> {
      got.appendBuffer(b);
      if (got.length() >= word.length()) {
        done.tryComplete(got.toString());
        socket.close();
      }
    });
    socket.write(word);
    return done.future();
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
