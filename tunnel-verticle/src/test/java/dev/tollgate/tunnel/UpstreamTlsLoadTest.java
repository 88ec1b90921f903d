package dev.tollgate.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.UpstreamConfig;
import dev.tollgate.testing.Await;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading {@code upstreams:} files: errors name the key; lookups prefer host:port over host. */
class UpstreamTlsLoadTest {
  static Vertx vertx;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    Await.result(vertx.close());
  }

  private static UpstreamConfig entry(String host, List<Path> trust, Path cert, Path key) {
    return new UpstreamConfig(host, 0, null, "sni.test", null, trust, cert, key);
  }

  @Test
  void aMissingTrustFileNamesItsKey() {
    IOException e = assertThrows(IOException.class, () -> UpstreamTls.load(vertx, List.of(), List.of(entry("a.test", List.of(dir.resolve("nope.pem")), null, null))));
    assertTrue(e.getMessage().startsWith("upstreams[a.test].trust[0]: "), e.getMessage());
  }

  @Test
  void aTrustFileWithoutCertificatesNamesItsKey() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.pem"), "not a certificate\n");
    IOException e = assertThrows(IOException.class, () -> UpstreamTls.load(vertx, List.of(empty), List.of()));
    assertTrue(e.getMessage().startsWith("mitm.upstreamTrust[0]: "), e.getMessage());
  }

  @Test
  void anUnusableClientCertificateNamesItsKey() throws Exception {
    Path cert = Files.writeString(dir.resolve("c.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    Path key = Files.writeString(dir.resolve("k.pem"), "junk\n");
    IOException e = assertThrows(IOException.class, () -> UpstreamTls.load(vertx, List.of(), List.of(entry("a.test", List.of(), cert, key))));
    assertTrue(e.getMessage().startsWith("upstreams[a.test].clientCert"), e.getMessage());
    IOException missing = assertThrows(IOException.class, () -> UpstreamTls.load(vertx, List.of(), List.of(entry("a.test", List.of(), dir.resolve("x.pem"), key))));
    assertTrue(missing.getMessage().startsWith("upstreams[a.test].clientCert: cannot read"), missing.getMessage());
  }

  @Test
  void lookupsPreferThePortSpecificEntryAndIgnoreCaseAndTrailingDot() throws Exception {
    UpstreamTls tls = UpstreamTls.load(vertx, List.of(), List.of(
        new UpstreamConfig("a.test", 0, HostPort.parse("127.0.0.1:1"), null, null, List.of(), null, null),
        new UpstreamConfig("a.test", 8443, null, "other.test", null, List.of(), null, null)));
    assertNotNull(tls.defaultTrust());
    assertEquals(HostPort.parse("127.0.0.1:1"), tls.dial("A.Test.", 443));
    assertNull(tls.route("A.TEST", 443).sslOptions(), "dial only: the default TLS settings apply");
    assertEquals("other.test", tls.route("a.test", 8443).sni());
    assertNotNull(tls.route("a.test", 8443).sslOptions());
    assertNull(tls.dial("a.test", 8443));
    assertNull(tls.route("b.test", 443));
  }
}
