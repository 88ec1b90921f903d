package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.ingress.terminate.ListenerCertificates;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.Ports;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A terminating listener over real sockets: SNI, routes, forwarded headers, HSTS, the 308 companion, h2. */
class TerminateTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static TestPki.Ca ca;
  static HttpClientAgent client;
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ca = TestPki.ca("Test Server CA");
    Path certs = dir.resolve("certs");
    ca.server("default.test", "default.test").write(certs, "default");
    ca.server("a.example.test", "a.example.test", "down.example.test").write(certs, "a");
    ca.server("b.example.test", "b.example.test").write(certs, "b");
    ca.server("wild.test", "*.wild.test").write(certs, "wild");
    int closed = Ports.unused();
    String backend = "http://127.0.0.1:" + origin.httpPort();
    JsonObject web =
        new JsonObject()
            .put("name", "web")
            .put("listen", "127.0.0.1:0")
            .put("cert", certs.resolve("default.pem").toString())
            .put("key", certs.resolve("default-key.pem").toString())
            .put("sni", new JsonObject()
                .put("a.example.test", files(certs, "a"))
                .put("b.example.test", files(certs, "b"))
                .put("down.example.test", files(certs, "a"))
                .put("*.wild.test", files(certs, "wild")))
            .put("routes", new JsonObject()
                .put("a.example.test", backend)
                .put("b.example.test", backend)
                .put("down.example.test", "http://127.0.0.1:" + closed)
                .put("*.wild.test", backend))
            .put("hsts", new JsonObject().put("maxAge", "1d").put("includeSubDomains", true))
            .put("redirectHttp", "127.0.0.1:0");
    JsonObject keep =
        TestNodes.terminateListener("keep", certs, "default", backend)
            .put("sni", new JsonObject().put("a.example.test", files(certs, "a")))
            .put("preserveHost", true);
    JsonObject config = TestNodes.config(dir.resolve("node"), List.of()).put("terminate", new JsonArray().add(web).add(keep));
    node = TestNodes.start(config);
    client = TlsClients.http(vertx, ca.certPem(), null, false);
  }

  static JsonObject files(Path certs, String name) {
    return new JsonObject().put("cert", certs.resolve(name + ".pem").toString()).put("key", certs.resolve(name + "-key.pem").toString());
  }

  @AfterAll
  static void stop() {
    Await.result(client.close());
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  static RequestOptions get(int port, String host, String path) {
    return new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1"))
        .setHost(host)
        .setPort(port)
        .setURI(path);
  }

  record Answer(HttpClientResponse response, String body) {}

  static Answer send(HttpClientAgent c, RequestOptions o) {
    return Await.result(c.request(o).compose(r -> r.send().compose(resp -> resp.body().map(b -> new Answer(resp, b.toString())))));
  }

  private int port() {
    return node.terminatePort("web");
  }

  @Test
  void choosesTheCertificateBySni() throws Exception {
    assertEquals("a.example.test", TlsClients.cn(TlsClients.serverCertificate(port(), "a.example.test", ca.certPem())));
    assertEquals("b.example.test", TlsClients.cn(TlsClients.serverCertificate(port(), "b.example.test", ca.certPem())));
    assertEquals("wild.test", TlsClients.cn(TlsClients.serverCertificate(port(), "x.wild.test", ca.certPem())));
    assertEquals("default.test", TlsClients.cn(TlsClients.serverCertificate(port(), "other.test", ca.certPem())));
    assertEquals("default.test", TlsClients.cn(TlsClients.serverCertificate(port(), null, ca.certPem())));
  }

  @Test
  void wildcardNamesGetTheirOwnContextsOnlyUpToABound() throws Exception {
    var config = node.config().terminate().get(0);
    var mapper = ListenerCertificates.load(vertx, config).keyCertOptions().keyManagerFactoryMapper(vertx);
    assertNotNull(mapper.apply("a.example.test"));
    for (int i = 0; i < ListenerCertificates.WILDCARD_NAMES; i++) {
      assertNotNull(mapper.apply("n" + i + ".wild.test"), "name " + i);
    }
    assertNull(mapper.apply("one-more.wild.test"), "beyond the bound: the default certificate");
    assertNotNull(mapper.apply("n0.wild.test"), "names seen before keep theirs");
    assertNotNull(mapper.apply("b.example.test"), "exact names are not bounded");
    assertNull(mapper.apply("other.test"));
  }

  @Test
  void wildcardRouteAndCertificate() {
    Answer a = send(client, get(port(), "x.wild.test", "/hello"));
    assertEquals(200, a.response().statusCode());
  }

  @Test
  void forwardsWithForwardedHeadersReplacingTheClients() {
    RequestOptions o = get(port(), "a.example.test", "/headers")
        .putHeader("X-Forwarded-For", "6.6.6.6")
        .putHeader("X-Forwarded-Proto", "http")
        .putHeader("X-Forwarded-Host", "evil.test")
        .putHeader("Forwarded", "for=6.6.6.6")
        .putHeader("X-Client-Identity", "Subject=\"CN=admin\"");
    Answer a = send(client, o);
    assertEquals(200, a.response().statusCode());
    JsonObject seen = new JsonObject(a.body());
    String host = "a.example.test:" + port();
    assertEquals("127.0.0.1", seen.getString("x-forwarded-for"));
    assertEquals("https", seen.getString("x-forwarded-proto"));
    assertEquals(host, seen.getString("x-forwarded-host"));
    assertEquals("for=127.0.0.1;proto=https;host=\"" + host + "\"", seen.getString("forwarded"));
    assertNull(seen.getString("x-client-identity"), "a client-sent identity never reaches the backend");
    assertEquals("127.0.0.1:" + origin.httpPort(), seen.getString("host"));
    assertEquals("max-age=86400; includeSubDomains", a.response().getHeader("strict-transport-security"));
  }

  @Test
  void preserveHostSendsTheClientsHostToTheBackend() {
    int keep = node.terminatePort("keep");
    for (HttpClientAgent c : List.of(client, TlsClients.http(vertx, ca.certPem(), null, true))) {
      Answer a = send(c, get(keep, "a.example.test", "/headers"));
      assertEquals(200, a.response().statusCode(), a.body());
      JsonObject seen = new JsonObject(a.body());
      assertEquals("a.example.test:" + keep, seen.getString("host"), "h1 and h2 clients alike");
      assertEquals("a.example.test:" + keep, seen.getString("x-forwarded-host"));
      if (c != client) {
        Await.result(c.close());
      }
    }
  }

  @Test
  void speaksH2ByAlpn() {
    HttpClientAgent h2 = TlsClients.http(vertx, ca.certPem(), null, true);
    try {
      Answer a = send(h2, get(port(), "b.example.test", "/hello"));
      assertEquals(HttpVersion.HTTP_2, a.response().version());
      assertEquals("hello", a.body());
      assertEquals("max-age=86400; includeSubDomains", a.response().getHeader("strict-transport-security"));
    } finally {
      Await.result(h2.close());
    }
  }

  @Test
  void unknownHostIsMisdirected() {
    Answer a = send(client, get(port(), "a.example.test", "/hello").putHeader("Host", "c.example.test"));
    assertEquals(421, a.response().statusCode());
    assertEquals("no route for host c.example.test on this listener", a.response().getHeader(FailureResponder.REASON_HEADER));
    assertEquals("max-age=86400; includeSubDomains", a.response().getHeader("strict-transport-security"), "HSTS on the proxy's own answers too");
  }

  @Test
  void hostThatIsNotTheTlsNameIsMisdirected() {
    Answer a = send(client, get(port(), "a.example.test", "/hello").putHeader("Host", "b.example.test"));
    assertEquals(421, a.response().statusCode());
    assertEquals("host b.example.test does not match the TLS server name a.example.test", a.response().getHeader(FailureResponder.REASON_HEADER));
  }

  @Test
  void backendDownIs502() {
    Answer a = send(client, get(port(), "down.example.test", "/hello"));
    assertEquals(502, a.response().statusCode());
    assertTrue(a.response().getHeader(FailureResponder.REASON_HEADER).contains("refused"), a.response().getHeader(FailureResponder.REASON_HEADER));
  }

  @Test
  void redirectCompanionAnswers308KeepingPathAndQuery() throws Exception {
    try (Raw raw = new Raw(node.redirectPort("web"))) {
      String head = raw.send("POST /some/path?q=1&r=%20 HTTP/1.1\r\nHost: a.example.test:8080\r\nContent-Length: 0\r\n\r\n").readHead();
      assertTrue(head.startsWith("HTTP/1.1 308 "), head);
      assertEquals("https://a.example.test:" + port() + "/some/path?q=1&r=%20", ForwardTest.header(head, "location"));
      assertNull(ForwardTest.header(head, "strict-transport-security"), "no HSTS over plain HTTP");
    }
  }
}
