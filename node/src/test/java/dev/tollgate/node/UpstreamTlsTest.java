package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.node.fixtures.ClientCertificates;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upstream control end to end on loopback: {@code upstreams:} entries that dial 127.0.0.1 while
 * the clients name {@code *.test} hosts, intercepted through Tollgate's CA. HTTPS origins whose
 * certificates come from test CAs offer h2 only, HTTP/1.1 only or both by ALPN; they report the
 * protocol, SNI name, Host/:authority and client certificate they saw.
 */
class UpstreamTlsTest {
  static Vertx vertx;
  static Node node;
  static Path dir;
  static SSLContext trustsTollgate;
  static Origin plain;
  static HttpServer h2Only;
  static HttpServer h1Only;
  static HttpServer both;
  static HttpServer oneExample;
  static HttpServer mtls;
  static final List<Throwable> serverErrors = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    CertificateAuthority originCa = CertificateAuthority.create(new CaOptions().setName("upstream origins"));
    Files.writeString(dir.resolve("origin-ca.pem"), originCa.certificatePem());
    // This CA is trusted for the mTLS upstream's entries only, not in mitm.upstreamTrust.
    CertificateAuthority privateCa = CertificateAuthority.create(new CaOptions().setName("private upstream"));
    Files.writeString(dir.resolve("private-ca.pem"), privateCa.certificatePem());
    ClientCertificates clients = new ClientCertificates("upstream clients");
    String[] client = clients.issue("tollgate-node");
    Files.writeString(dir.resolve("client.pem"), client[0]);
    Files.writeString(dir.resolve("client-key.pem"), client[1]);

    h2Only = server(originCa, "h2.test", List.of(HttpVersion.HTTP_2), o -> {});
    h1Only = server(originCa, "h1.test", null, o -> {});
    both = server(originCa, "both.test", List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1), o -> {});
    oneExample = server(originCa, "one.example.test", List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1), o -> {});
    String clientCa = clients.caPem();
    mtls = server(privateCa, "mtls.example.test", null, o -> o.setClientAuth(ClientAuth.REQUIRED)
        .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(clientCa))));
    plain = new Origin(vertx);

    JsonObject config = TestNodes.config(dir.resolve("node"), List.of(443));
    config.put("mitm", new JsonObject().put("upstreamTrust", new JsonArray().add(dir.resolve("origin-ca.pem").toString())));
    String privateTrust = dir.resolve("private-ca.pem").toString();
    config.put("upstreams", new JsonObject()
        .put("h2.test", dial(h2Only))
        .put("h1.test", dial(h1Only))
        .put("both.test:443", dial(both))
        .put("one.example.test", dial(oneExample))
        .put("lb.test", dial(oneExample).put("sni", "one.example.test"))
        .put("wrong.test", dial(oneExample).put("sni", "one.example.test").put("verifyName", "two.example.test"))
        .put("mtls.test", dial(mtls).put("sni", "mtls.example.test").put("trust", new JsonArray().add(privateTrust))
            .put("clientCert", dir.resolve("client.pem").toString()).put("clientKey", dir.resolve("client-key.pem").toString()))
        .put("nocert.test", dial(mtls).put("sni", "mtls.example.test").put("trust", new JsonArray().add(privateTrust)))
        .put("untrusted.test", dial(mtls).put("sni", "mtls.example.test")
            .put("clientCert", dir.resolve("client.pem").toString()).put("clientKey", dir.resolve("client-key.pem").toString()))
        .put("plain.test", new JsonObject().put("dial", "127.0.0.1:" + plain.httpPort()))
        .put("private.test", new JsonObject().put("dial", "10.20.30.40:80")));
    node = TestNodes.start(config);
    Control.Reply r = new Control(node).put("/v1/policy", new JsonObject()
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("rules", new JsonArray().add(new JsonObject().put("id", "inspect-tests").put("action", "intercept")
            .put("hosts", new JsonArray().add("*.test")))));
    assertEquals(200, r.status(), r.body().encode());
    trustsTollgate = InterceptTest.sslContextTrusting(Files.readAllBytes(dir.resolve("node").resolve("ca.pem")));
  }

  private static JsonObject dial(HttpServer server) {
    return new JsonObject().put("dial", "127.0.0.1:" + server.actualPort());
  }

  /** An HTTPS origin for {@code name}; {@code alpn} null: no ALPN at all (HTTP/1.1 only). */
  private static HttpServer server(CertificateAuthority ca, String name, List<HttpVersion> alpn, java.util.function.Consumer<HttpServerOptions> more) {
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true).setSni(true)
        .setKeyCertOptions(KeyCertOptions.wrap(ca.mint(name).keyManager()));
    if (alpn != null) {
      options.setUseAlpn(true).setAlpnVersions(alpn);
    }
    more.accept(options);
    return Await.result(vertx.createHttpServer(options)
        .exceptionHandler(e -> {
          if (!(e instanceof javax.net.ssl.SSLException) && !(e.getCause() instanceof javax.net.ssl.SSLException)) {
            serverErrors.add(e);
          }
        })
        .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage(name + " echoes " + text)))
        .requestHandler(r -> answer(name, r))
        .listen());
  }

  private static void answer(String name, HttpServerRequest r) {
    var response = r.response()
        .putHeader("x-version", r.version().name())
        .putHeader("x-sni", String.valueOf(r.connection().indicatedServerName()))
        .putHeader("x-authority", String.valueOf(r.authority()))
        .putHeader("x-host-header", String.valueOf(r.getHeader("host")))
        .putHeader("x-te", String.valueOf(r.getHeader("transfer-encoding")))
        .putHeader("x-client", clientName(r));
    r.body().onSuccess(body -> response.end(r.method().name().equals("POST") ? name + " got " + body.length() + " bytes" : "hello from " + name));
  }

  private static String clientName(HttpServerRequest r) {
    try {
      return ((X509Certificate) r.connection().peerCertificates().get(0)).getSubjectX500Principal().getName();
    } catch (Exception e) {
      return "none";
    }
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    plain.close();
    for (HttpServer s : List.of(h2Only, h1Only, both, oneExample, mtls)) {
      Await.result(s.close());
    }
    Await.result(vertx.close());
  }

  @AfterEach
  void noServerErrors() {
    assertTrue(serverErrors.isEmpty(), "server-side errors: " + serverErrors);
  }

  static HttpClient client(HttpClient.Version version) {
    return HttpClient.newBuilder()
        .version(version)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", node.proxyPort())))
        .sslContext(trustsTollgate)
        .build();
  }

  static HttpResponse<String> get(HttpClient.Version version, String url) throws Exception {
    return client(version).send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A POST whose length the client does not know: chunked on HTTP/1.1, DATA frames until END_STREAM on h2. */
  static HttpResponse<String> postUnknownLength(HttpClient.Version version, String url, int bytes) throws Exception {
    HttpRequest post = HttpRequest.newBuilder(URI.create(url))
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[bytes]))).build();
    return client(version).send(post, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anHttp1ClientReachesAnH2OnlyUpstream() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "https://h2.test/hello");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("hello from h2.test", r.body());
    assertEquals(HttpClient.Version.HTTP_1_1, r.version());
    assertEquals("HTTP_2", r.headers().firstValue("x-version").orElse(""), "h2 picked by ALPN towards the upstream");
    assertEquals("h2.test", r.headers().firstValue("x-authority").orElse(""), ":authority carries the host");
    assertEquals("null", r.headers().firstValue("x-host-header").orElse(""), "no Host field on h2");
    assertEquals("h2.test", r.headers().firstValue("x-sni").orElse(""));
    HttpResponse<String> post = postUnknownLength(HttpClient.Version.HTTP_1_1, "https://h2.test/upload", 100_000);
    assertEquals(200, post.statusCode(), post.body());
    assertEquals("h2.test got 100000 bytes", post.body(), "a chunked HTTP/1.1 body becomes h2 DATA frames");
    assertEquals("null", post.headers().firstValue("x-te").orElse(""), "no Transfer-Encoding on h2");
  }

  @Test
  void anH2ClientReachesAnHttp1OnlyUpstream() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_2, "https://h1.test/hello");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("hello from h1.test", r.body());
    assertEquals(HttpClient.Version.HTTP_2, r.version());
    assertEquals("HTTP_1_1", r.headers().firstValue("x-version").orElse(""));
    assertEquals("h1.test", r.headers().firstValue("x-host-header").orElse(""), ":authority becomes Host");
    HttpResponse<String> post = postUnknownLength(HttpClient.Version.HTTP_2, "https://h1.test/upload", 100_000);
    assertEquals(200, post.statusCode(), post.body());
    assertEquals("h1.test got 100000 bytes", post.body());
    assertEquals("chunked", post.headers().firstValue("x-te").orElse(""), "an h2 body of unknown length is sent chunked");
  }

  @Test
  void anH2ClientReachesAnH2Upstream() throws Exception {
    for (String url : List.of("https://h2.test/hello", "https://both.test/hello")) {
      HttpResponse<String> r = get(HttpClient.Version.HTTP_2, url);
      assertEquals(200, r.statusCode(), r.body());
      assertEquals(HttpClient.Version.HTTP_2, r.version());
      assertEquals("HTTP_2", r.headers().firstValue("x-version").orElse(""), url);
      assertTrue(r.headers().firstValue("via").orElse("").startsWith("2 "), "Via names the upstream's protocol: " + r.headers().map());
    }
  }

  @Test
  void aWebSocketToAnUpstreamThatOffersH2GoesOverHttp1() throws Exception {
    io.vertx.core.http.WebSocketClient ws = vertx.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions()
        .setSsl(true)
        .setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(dir.resolve("node").resolve("ca.pem").toString()))
        .setProxyOptions(new io.vertx.core.net.ProxyOptions().setType(io.vertx.core.net.ProxyType.HTTP).setHost("127.0.0.1").setPort(node.proxyPort())));
    try {
      String answer = Await.result(ws.connect(443, "both.test", "/echo").compose(socket -> {
        io.vertx.core.Promise<String> got = io.vertx.core.Promise.promise();
        socket.textMessageHandler(got::tryComplete);
        return socket.writeTextMessage("ping").compose(v -> got.future()).andThen(ar -> socket.close());
      }));
      assertEquals("both.test echoes ping", answer);
    } finally {
      Await.result(ws.close());
    }
  }

  @Test
  void dialAndSniReachAServerThatOnlyHasTheSniNamesCertificate() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "https://lb.test/hello");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("hello from one.example.test", r.body());
    assertEquals("one.example.test", r.headers().firstValue("x-sni").orElse(""), "the SNI the server saw");
    assertEquals("lb.test", r.headers().firstValue("x-authority").orElse(""), "the request still names the host the client asked for");
    HttpResponse<String> direct = get(HttpClient.Version.HTTP_2, "https://one.example.test/hello");
    assertEquals(200, direct.statusCode(), direct.body());
    assertEquals("one.example.test", direct.headers().firstValue("x-sni").orElse(""), "sni defaults to the host");
  }

  @Test
  void aCertificateThatDoesNotMatchVerifyNameIsA502NamingTheMismatch() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "https://wrong.test/hello");
    assertEquals(502, r.statusCode(), r.body());
    String reason = r.headers().firstValue("x-tollgate-reason").orElse("");
    assertTrue(reason.contains("verifyName two.example.test") && reason.contains("one.example.test"), reason);
  }

  @Test
  void entriesWithTheSameDialAndSniButAnotherVerifyNameNeverShareAConnection() throws Exception {
    // Same address, same SNI: only the checks differ. A pooled connection verified for lb.test
    // must not carry wrong.test's request, nor the other way round.
    HttpClient client = client(HttpClient.Version.HTTP_1_1);
    for (int i = 0; i < 2; i++) {
      assertEquals(200, client.send(HttpRequest.newBuilder(URI.create("https://lb.test/hello")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(502, client.send(HttpRequest.newBuilder(URI.create("https://wrong.test/hello")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    }
  }

  @Test
  void anUpstreamThatRequiresAClientCertificateGetsTheConfiguredOne() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "https://mtls.test/hello");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("CN=tollgate-node", r.headers().firstValue("x-client").orElse(""));
    HttpResponse<String> none = get(HttpClient.Version.HTTP_1_1, "https://nocert.test/hello");
    assertEquals(502, none.statusCode(), "no client certificate: " + none.body());
    assertTrue(none.headers().firstValue("x-tollgate-reason").orElse("").contains("certificate"), none.headers().map().toString());
    HttpResponse<String> untrusted = get(HttpClient.Version.HTTP_1_1, "https://untrusted.test/hello");
    assertEquals(502, untrusted.statusCode(), "the private CA is trusted only where an entry lists it: " + untrusted.body());
    assertTrue(untrusted.headers().firstValue("x-tollgate-reason").orElse("").contains("certification path"), untrusted.headers().map().toString());
  }

  @Test
  void plainForwardingDialsTheConfiguredAddress() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "http://plain.test/headers");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("plain.test", new JsonObject(r.body()).getString("host"), r.body());
  }

  @Test
  void aDialAddressIsCheckedLikeAnyOther() throws Exception {
    HttpResponse<String> r = get(HttpClient.Version.HTTP_1_1, "http://private.test/hello");
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("x-tollgate-reason").orElse("").contains("private"), r.headers().map().toString());
  }
}
