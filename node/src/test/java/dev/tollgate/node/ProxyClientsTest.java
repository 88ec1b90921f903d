package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.mitm.Certificates;
import dev.tollgate.mitm.PemKeyPair;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
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
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
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

/**
 * Proxy clients other than a raw socket: h2 CONNECT streams sharing one connection, the TLS proxy
 * listener speaking h2 and HTTP/1.1, and curl (plain and TLS proxy, forward and CONNECT, to plain
 * and https origins).
 */
class ProxyClientsTest {
  static Vertx vertx;
  static Origin origin;
  static HttpServer httpsOrigin;
  static Path httpsOriginCert;
  static Node node;

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
    node = TestNodes.start(TestNodes.config(dir.resolve("a"), List.of(origin.echoPort(), origin.httpPort(), httpsOrigin.actualPort())));
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(httpsOrigin.close());
    Await.result(vertx.close());
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
}
