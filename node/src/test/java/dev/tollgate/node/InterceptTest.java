package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.KeyCertOptions;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interception end to end on loopback: clients that trust only Tollgate's CA, an HTTPS origin
 * whose test CA is in {@code mitm.upstreamTrust}, an {@code intercept} rule between them.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class InterceptTest {
  static dev.tollgate.node.fixtures.Origin echo;
  static Vertx vertx;
  static HttpServer origin;
  static final AtomicInteger originConnections = new AtomicInteger();
  static Node node;
  static Path dir;
  static SSLContext trustsTollgate;
  static SSLContext trustsOrigin;

  static SSLContext sslContextTrusting(byte[] pem) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem)));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    CertificateAuthority originCa = CertificateAuthority.create(new CaOptions().setName("test origin"));
    Files.writeString(dir.resolve("origin-ca.pem"), originCa.certificatePem());
    origin = Await.result(vertx.createHttpServer(new HttpServerOptions()
            .setHost("127.0.0.1").setPort(0).setSsl(true)
            .setKeyCertOptions(KeyCertOptions.wrap(originCa.mint("localhost").keyManager())))
        .connectionHandler(c -> originConnections.incrementAndGet())
        .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage("echo: " + text)))
        .requestHandler(r -> r.response().putHeader("x-origin-saw-host", String.valueOf(r.getHeader("host"))).end("hello over tls"))
        .listen());
    echo = new dev.tollgate.node.fixtures.Origin(vertx);
    JsonObject config = TestNodes.config(dir.resolve("node"), List.of(origin.actualPort(), echo.echoPort()));
    config.put("mitm", new JsonObject()
        .put("upstreamTrust", new JsonArray().add(dir.resolve("origin-ca.pem").toString()))
        .put("learnPassthrough", true));
    node = TestNodes.start(config);
    Control.Reply r = new Control(node).put("/v1/policy", new JsonObject()
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("rules", new JsonArray().add(new JsonObject().put("id", "inspect-local").put("action", "intercept")
            .put("hosts", new JsonArray().add("localhost").add("127.0.0.1")))));
    assertEquals(200, r.status(), r.body().encode());
    trustsOrigin = sslContextTrusting(Files.readAllBytes(dir.resolve("origin-ca.pem")));
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("tollgate", CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("node").resolve("ca.pem")))));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    trustsTollgate = SSLContext.getInstance("TLS");
    trustsTollgate.init(null, tmf.getTrustManagers(), null);
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    Await.result(origin.close());
    echo.close();
    Await.result(vertx.close());
  }

  static HttpClient client(HttpClient.Version version) {
    return HttpClient.newBuilder()
        .version(version)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", node.proxyPort())))
        .sslContext(trustsTollgate)
        .build();
  }

  @Test
  void h1AndH2ClientsSeeTheOriginThroughTollgatesCertificate() throws Exception {
    for (HttpClient.Version version : HttpClient.Version.values()) {
      HttpResponse<String> r = client(version).send(
          HttpRequest.newBuilder(URI.create("https://localhost:" + origin.actualPort() + "/hello")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), version + ": " + r.body());
      assertEquals("hello over tls", r.body());
      assertEquals(version, r.version(), "ALPN towards the client");
      assertTrue(r.headers().firstValue("via").orElse("").contains("tollgate"), "the response went through the forwarder: " + r.headers().map());
      assertEquals("localhost:" + origin.actualPort(), r.headers().firstValue("x-origin-saw-host").orElse(""));
    }
    String log = Files.readString(dir.resolve("node").resolve("access.log"));
    assertTrue(log.contains("\"target\":\"https://localhost:" + origin.actualPort() + "/hello\""), "inner requests are in the access log: " + log);
    String metrics = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(MetricsTest.value(metrics, "tollgate_mitm_certificates_minted_total{node=\"test-node\"}") >= 1, "a leaf was minted");
    assertTrue(MetricsTest.value(metrics, "tollgate_mitm_certificates_cache_hits_total{node=\"test-node\"}") >= 1, "and reused");
  }

  @Test
  @org.junit.jupiter.api.Order(1) // first: no pooled upstream connection yet
  void theUpstreamIsDialedOnlyForTheFirstRequest() throws Exception {
    int before = originConnections.get();
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT localhost:" + origin.actualPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead()));
      SSLSocket tls = (SSLSocket) trustsTollgate.getSocketFactory().createSocket(raw.socket(), "localhost", origin.actualPort(), false);
      SSLParameters params = tls.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS");
      tls.setSSLParameters(params);
      tls.startHandshake();
      assertEquals("localhost", ((java.security.cert.X509Certificate) tls.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName().replaceAll(".*CN=([^,]+).*", "$1"));
      Thread.sleep(200);
      assertEquals(before, originConnections.get(), "no upstream connection before the first request");
      tls.getOutputStream().write(("GET /hello HTTP/1.1\r\nHost: localhost:" + origin.actualPort() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(tls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("hello over tls"), answer);
      assertEquals(before + 1, originConnections.get(), "one upstream connection, opened by the request");
    }
  }

  @Test
  void anUpstreamCertificateForAnotherNameIsA502NamingWhy() throws Exception {
    // The client asks for 127.0.0.1: Tollgate's leaf has that IP SAN, but the origin's certificate is for localhost only.
    HttpResponse<String> r = client(HttpClient.Version.HTTP_1_1).send(
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + origin.actualPort() + "/hello")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(502, r.statusCode(), r.body());
    String reason = r.headers().firstValue("x-tollgate-reason").orElse("");
    assertTrue(reason.toLowerCase().contains("certificate") || reason.toLowerCase().contains("subject alternative") || reason.contains("127.0.0.1"), reason);
  }

  @Test
  void aClientThatDoesNotSpeakTlsInAnInterceptedTunnelIsRelayedAsIs() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT 127.0.0.1:" + echo.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead()));
      raw.send("not tls at all");
      assertEquals("not tls at all", new String(raw.readN(14), StandardCharsets.US_ASCII), "relayed to the echo server");
    }
  }

  @Test
  void aWebSocketEchoWorksThroughInterception() throws Exception {
    io.vertx.core.http.WebSocketClient ws = vertx.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions()
        .setSsl(true)
        .setVerifyHost(true)
        .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(dir.resolve("node").resolve("ca.pem").toString()))
        .setProxyOptions(new io.vertx.core.net.ProxyOptions().setType(io.vertx.core.net.ProxyType.HTTP).setHost("127.0.0.1").setPort(node.proxyPort())));
    try {
      String answer = Await.result(ws.connect(origin.actualPort(), "localhost", "/echo").compose(socket -> {
        io.vertx.core.Promise<String> got = io.vertx.core.Promise.promise();
        socket.textMessageHandler(got::tryComplete);
        return socket.writeTextMessage("ping").compose(v -> got.future()).andThen(ar -> socket.close());
      }));
      assertEquals("echo: ping", answer);
    } finally {
      Await.result(ws.close());
    }
  }

  @Test
  @org.junit.jupiter.api.Order(100) // last: it puts localhost on the passthrough list for a while
  void aHostWhoseClientsKeepRejectingTheCertificateIsLearnedAsPassthrough() throws Exception {
    // This client trusts only the origin's CA, like an app that pins the real certificate.
    HttpClient pinned = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", node.proxyPort())))
        .sslContext(trustsOrigin)
        .build();
    HttpRequest get = HttpRequest.newBuilder(URI.create("https://localhost:" + origin.actualPort() + "/hello")).build();
    for (int i = 0; i < dev.tollgate.mitm.intercept.Passthrough.THRESHOLD; i++) {
      try {
        pinned.send(get, HttpResponse.BodyHandlers.ofString());
        throw new AssertionError("the pinned client accepted Tollgate's certificate");
      } catch (javax.net.ssl.SSLHandshakeException expected) {
        // rejected, as a pinned app does
      }
    }
    ClusterTest.awaitQuietly(() -> pinned.send(get, HttpResponse.BodyHandlers.ofString()).statusCode() == 200, "localhost is relayed blind: the pinned client sees the origin's own certificate");
    Control control = new Control(node);
    Control.Reply list = control.get("/v1/mitm/passthrough");
    assertEquals("localhost", list.body().getJsonArray("hosts").getJsonObject(0).getString("host"), list.body().encode());
    assertEquals(1, control.delete("/v1/mitm/passthrough").body().getInteger("cleared"));
    assertEquals(0, control.get("/v1/mitm/passthrough").body().getJsonArray("hosts").size());
    HttpResponse<String> intercepted = client(HttpClient.Version.HTTP_1_1).send(get, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, intercepted.statusCode(), "intercepted again after the operator cleared the list");
    String metrics = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(MetricsTest.value(metrics, "tollgate_mitm_client_rejections_total{node=\"test-node\"}") >= 3, "rejections are counted");
  }
}
