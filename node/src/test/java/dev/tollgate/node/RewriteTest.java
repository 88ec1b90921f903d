package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.node.fixtures.BrotliStored;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.KeyCertOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.InflaterInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rewrite rules end to end on loopback: a client trusting only Tollgate's CA, an HTTPS origin
 * whose test CA is in {@code mitm.upstreamTrust}, an {@code intercept} rule and {@code rewrite}
 * rules between them; and a plain HTTP origin reached by forwarding.
 */
class RewriteTest {
  static final int CAP = 64 * 1024;
  static final String JSON = "{\"beta\":false,\"name\":\"tollgate\"}";
  static final String REWRITTEN = "{\"beta\":true,\"name\":\"tollgate\"}";
  static Vertx vertx;
  static HttpServer origin;
  static HttpServer plain;
  static Node node;
  static Path dir;
  static HttpClient client;
  static HttpClient h2client;
  static final byte[] LARGE = randomText(50 * 1024, "\"beta\":false");
  static volatile Promise<Void> releaseStream = Promise.promise();

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    CertificateAuthority originCa = CertificateAuthority.create(new CaOptions().setName("test origin"));
    Files.writeString(dir.resolve("origin-ca.pem"), originCa.certificatePem());
    origin = Await.result(vertx.createHttpServer(new HttpServerOptions()
            .setHost("127.0.0.1").setPort(0).setSsl(true).setUseAlpn(true)
            .setKeyCertOptions(KeyCertOptions.wrap(originCa.mint("localhost").keyManager())))
        .requestHandler(RewriteTest::serve)
        .listen());
    plain = Await.result(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)).requestHandler(RewriteTest::serve).listen());
    JsonObject config = TestNodes.config(dir.resolve("node"), List.of(origin.actualPort()));
    config.put("mitm", new JsonObject()
        .put("upstreamTrust", new JsonArray().add(dir.resolve("origin-ca.pem").toString()))
        .put("rewriteMaxBody", CAP));
    node = TestNodes.start(config);
    JsonObject replaceBeta = new JsonObject().put("replace", new JsonArray()
        .add(new JsonObject().put("find", "\"beta\":false").put("with", "\"beta\":true"))
        .add(new JsonObject().put("find", "Köln").put("with", "Zürich")));
    Control.Reply r = new Control(node).put("/v1/policy", new JsonObject()
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("rules", new JsonArray().add(new JsonObject().put("id", "inspect-local").put("action", "intercept")
            .put("hosts", new JsonArray().add("localhost"))))
        .put("rewrite", new JsonArray()
            .add(new JsonObject().put("hosts", new JsonArray().add("localhost"))
                .put("request", new JsonObject().put("setHeaders", new JsonObject().put("X-Added", "by tollgate")).put("removeHeaders", new JsonArray().add("x-secret")))
                .put("response", new JsonObject().put("setHeaders", new JsonObject().put("x-rewritten", "yes")).put("removeHeaders", new JsonArray().add("x-remove-me"))))
            .add(new JsonObject().put("hosts", new JsonArray().add("localhost")).put("paths", new JsonArray().add("/body/*")).put("response", replaceBeta))));
    assertEquals(200, r.status(), r.body().encode());
    client = client(HttpClient.Version.HTTP_1_1);
    h2client = client(HttpClient.Version.HTTP_2);
  }

  static HttpClient client(HttpClient.Version version) throws Exception {
    return HttpClient.newBuilder()
        .version(version)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", node.proxyPort())))
        .sslContext(InterceptTest.sslContextTrusting(Files.readAllBytes(dir.resolve("node").resolve("ca.pem"))))
        .build();
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    Await.result(origin.close());
    Await.result(plain.close());
    Await.result(vertx.close());
  }

  /** The origin: each path answers a body in some coding and charset. */
  static void serve(HttpServerRequest r) {
    var resp = r.response().putHeader("x-remove-me", "origin").putHeader("x-kept", "origin");
    try {
      switch (r.path()) {
        case "/headers" -> resp.putHeader("content-type", "application/json").end(new JsonObject()
            .put("x-added", r.getHeader("x-added")).put("x-secret", r.getHeader("x-secret")).put("x-other", r.getHeader("x-other")).encode());
        case "/body/json-gzip" -> resp.putHeader("content-type", "application/json").putHeader("content-encoding", "gzip")
            .putHeader("etag", "\"v1\"").end(Buffer.buffer(gzip(JSON.getBytes(StandardCharsets.UTF_8))));
        case "/body/large-gzip" -> resp.putHeader("content-type", "text/plain").putHeader("content-encoding", "gzip").end(Buffer.buffer(gzip(LARGE)));
        case "/body/deflate" -> resp.putHeader("content-type", "application/json; charset=utf-8").putHeader("content-encoding", "deflate")
            .end(Buffer.buffer(deflate(JSON.getBytes(StandardCharsets.UTF_8))));
        case "/body/br" -> resp.putHeader("content-type", "application/json").putHeader("content-encoding", "br")
            .end(Buffer.buffer(BrotliStored.encode(JSON.getBytes(StandardCharsets.UTF_8))));
        case "/body/latin1" -> resp.putHeader("content-type", "text/plain; charset=ISO-8859-1")
            .end(Buffer.buffer("Grüße aus Köln".getBytes(StandardCharsets.ISO_8859_1)));
        case "/body/chunked-json" -> {
          resp.setChunked(true).putHeader("content-type", "application/json");
          resp.write("{\"beta\":");
          resp.end("false,\"name\":\"tollgate\"}");
        }
        case "/body/over-cap-chunked" -> {
          resp.setChunked(true).putHeader("content-type", "text/plain");
          for (int i = 0; i < 4; i++) {
            resp.write(Buffer.buffer(randomText(CAP / 2, "\"beta\":false")));
          }
          resp.end();
        }
        case "/body/over-cap-length" -> resp.putHeader("content-type", "text/plain").end(Buffer.buffer(randomText(CAP + 1, "\"beta\":false")));
        case "/body/image" -> resp.putHeader("content-type", "image/png").end(JSON);
        case "/stream" -> {
          // Ends only once the client has seen the first chunk: a buffering proxy would never deliver it.
          resp.setChunked(true).putHeader("content-type", "application/json");
          resp.write("{\"beta\":false,");
          releaseStream.future().onComplete(ar -> resp.end("\"end\":true}"));
        }
        default -> resp.setStatusCode(404).end();
      }
    } catch (Exception e) {
      resp.setStatusCode(500).end(e.toString());
    }
  }

  static URI https(String path) {
    return URI.create("https://localhost:" + origin.actualPort() + path);
  }

  static HttpResponse<byte[]> get(HttpClient c, URI uri) throws Exception {
    return c.send(HttpRequest.newBuilder(uri).header("x-secret", "s3cret").header("x-other", "kept").build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static void assertLengthMatches(HttpResponse<byte[]> r) {
    r.headers().firstValue("content-length").ifPresent(l -> assertEquals(r.body().length, Integer.parseInt(l), "Content-Length is the new body's"));
  }

  @Test
  void requestAndResponseHeadersAreRewrittenInsideInterception() throws Exception {
    for (HttpClient c : List.of(client, h2client)) {
      HttpResponse<byte[]> r = get(c, https("/headers"));
      assertEquals(200, r.statusCode());
      JsonObject seen = new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
      assertEquals("by tollgate", seen.getString("x-added"), "set on the way up");
      assertEquals(null, seen.getString("x-secret"), "removed on the way up");
      assertEquals("kept", seen.getString("x-other"));
      assertEquals("yes", r.headers().firstValue("x-rewritten").orElse(null), "set on the way back");
      assertFalse(r.headers().firstValue("x-remove-me").isPresent(), "removed on the way back");
      assertEquals("origin", r.headers().firstValue("x-kept").orElse(null));
    }
  }

  @Test
  void aGzipJsonBodyIsRewrittenAndStaysGzip() throws Exception {
    for (HttpClient c : List.of(client, h2client)) {
      HttpResponse<byte[]> r = get(c, https("/body/json-gzip"));
      assertEquals(200, r.statusCode());
      assertEquals("gzip", r.headers().firstValue("content-encoding").orElse(null));
      assertEquals(REWRITTEN, new String(gunzip(r.body()), StandardCharsets.UTF_8));
      assertFalse(r.headers().firstValue("etag").isPresent(), "the origin's ETag named other bytes");
      assertLengthMatches(r);
    }
  }

  @Test
  void aLargerCompressedBodyIsRewrittenOffTheEventLoop() throws Exception {
    HttpResponse<byte[]> r = get(client, https("/body/large-gzip"));
    byte[] expected = new String(LARGE, StandardCharsets.UTF_8).replace("\"beta\":false", "\"beta\":true").getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(expected, gunzip(r.body()));
    assertLengthMatches(r);
  }

  @Test
  void deflateBodiesAreRewrittenAndStayDeflate() throws Exception {
    HttpResponse<byte[]> r = get(client, https("/body/deflate"));
    assertEquals("deflate", r.headers().firstValue("content-encoding").orElse(null));
    assertEquals(REWRITTEN, new String(new InflaterInputStream(new ByteArrayInputStream(r.body())).readAllBytes(), StandardCharsets.UTF_8));
    assertLengthMatches(r);
  }

  @Test
  void brotliBodiesAreRewrittenAndSentIdentity() throws Exception {
    HttpResponse<byte[]> r = get(client, https("/body/br"));
    assertFalse(r.headers().firstValue("content-encoding").isPresent(), "identity: " + r.headers().map());
    assertEquals(REWRITTEN, new String(r.body(), StandardCharsets.UTF_8));
    assertLengthMatches(r);
  }

  @Test
  void textIsRewrittenInItsDeclaredCharset() throws Exception {
    HttpResponse<byte[]> r = get(client, https("/body/latin1"));
    assertArrayEquals("Grüße aus Zürich".getBytes(StandardCharsets.ISO_8859_1), r.body());
    assertLengthMatches(r);
  }

  @Test
  void aChunkedBodyGetsAContentLengthOnceRewritten() throws Exception {
    HttpResponse<byte[]> r = get(client, https("/body/chunked-json"));
    assertEquals(REWRITTEN, new String(r.body(), StandardCharsets.UTF_8));
    assertEquals(String.valueOf(REWRITTEN.length()), r.headers().firstValue("content-length").orElse(null));
  }

  @Test
  void bodiesOverTheCapPassUnmodified() throws Exception {
    ByteArrayOutputStream chunked = new ByteArrayOutputStream();
    for (int i = 0; i < 4; i++) {
      chunked.write(randomText(CAP / 2, "\"beta\":false"));
    }
    assertArrayEquals(chunked.toByteArray(), get(client, https("/body/over-cap-chunked")).body(), "passed unmodified");
    HttpResponse<byte[]> announced = get(client, https("/body/over-cap-length"));
    assertArrayEquals(randomText(CAP + 1, "\"beta\":false"), announced.body(), "passed unmodified");
    assertLengthMatches(announced);
  }

  @Test
  void nonTextBodiesAreNotTouched() throws Exception {
    assertEquals(JSON, new String(get(client, https("/body/image")).body(), StandardCharsets.UTF_8));
  }

  @Test
  void aBodyNoRuleRewritesStreamsThroughUnbuffered() throws Exception {
    releaseStream = Promise.promise();
    HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(https("/stream")).build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      byte[] first = in.readNBytes("{\"beta\":false,".length());
      assertEquals("{\"beta\":false,", new String(first, StandardCharsets.UTF_8), "the first chunk arrived before the origin ended");
      releaseStream.complete();
      assertEquals("\"end\":true}", new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    assertEquals("yes", r.headers().firstValue("x-rewritten").orElse(null), "the header rule applied all the same");
    assertFalse(r.headers().firstValue("content-length").isPresent(), "still chunked: " + r.headers().map());
  }

  @Test
  void plainForwardedRequestsAreRewrittenToo() throws Exception {
    HttpClient forward = HttpClient.newBuilder().proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", node.proxyPort()))).build();
    HttpResponse<byte[]> r = get(forward, URI.create("http://localhost:" + plain.actualPort() + "/body/json-gzip"));
    assertEquals(REWRITTEN, new String(gunzip(r.body()), StandardCharsets.UTF_8));
    assertEquals("yes", r.headers().firstValue("x-rewritten").orElse(null));
  }

  static byte[] gzip(byte[] in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(in);
    }
    return out.toByteArray();
  }

  static byte[] deflate(byte[] in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DeflaterOutputStream d = new DeflaterOutputStream(out)) {
      d.write(in);
    }
    return out.toByteArray();
  }

  static byte[] gunzip(byte[] in) throws Exception {
    return new GZIPInputStream(new ByteArrayInputStream(in)).readAllBytes();
  }

  /** Random letters with {@code marker} at the start and the end, {@code size} bytes in all. */
  static byte[] randomText(int size, String marker) {
    Random random = new Random(size);
    StringBuilder s = new StringBuilder(marker);
    String letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    while (s.length() < size - marker.length()) {
      s.append(letters.charAt(random.nextInt(letters.length())));
    }
    return s.append(marker).toString().getBytes(StandardCharsets.US_ASCII);
  }
}
