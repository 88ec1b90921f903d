package dev.tollgate.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.Cidr;
import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.UpstreamConfig;
import dev.tollgate.common.metrics.ProxyMetrics;
import dev.tollgate.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code dial} in {@code upstreams:}: the address dialed is the one the private-address and loop checks judge. */
class DialerUpstreamTest {
  static Vertx vertx;
  static UpstreamTls upstreams;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstreams = UpstreamTls.load(vertx, List.of(), List.of(
        new UpstreamConfig("public.example", 0, HostPort.parse("127.0.0.1:9"), null, null, List.of(), null, null),
        new UpstreamConfig("public.example", 8443, HostPort.parse("127.0.0.2:10"), null, null, List.of(), null, null)));
  }

  @AfterAll
  static void stop() {
    Await.result(vertx.close());
  }

  private static Dialer dialer(List<Cidr> allowPrivate, int selfPort) {
    return new Dialer(vertx, () -> allowPrivate, () -> Duration.ofSeconds(1), (a, p) -> p == selfPort, ProxyMetrics.none(), upstreams);
  }

  private static ProxyFailure failure(Future<Target> f) throws Exception {
    try {
      f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return (ProxyFailure) e.getCause();
    }
    throw new AssertionError("resolved");
  }

  @Test
  void aLoopbackDialIsRefusedUnlessAllowed() throws Exception {
    ProxyFailure f = failure(dialer(List.of(), -1).resolve("public.example", 443));
    assertEquals(ProxyFailure.Kind.DENIED, f.kind());
    assertTrue(f.reason().contains("loopback"), f.reason());
  }

  @Test
  void anAllowedDialKeepsTheRequestedNameAndDialsTheConfiguredAddress() throws Exception {
    Target t = Await.result(dialer(List.of(Cidr.parse("127.0.0.0/8")), -1).resolve("Public.Example.", 443));
    assertEquals("Public.Example.", t.host(), "the name stays the client's (Host, SNI default, logs)");
    assertEquals(443, t.port());
    assertEquals(InetAddress.getByName("127.0.0.1"), t.address());
    assertEquals(9, t.dialPort());
  }

  @Test
  void aPortSpecificEntryWinsOverTheHostEntry() throws Exception {
    Target t = Await.result(dialer(List.of(Cidr.parse("127.0.0.0/8")), -1).resolve("public.example", 8443));
    assertEquals(InetAddress.getByName("127.0.0.2"), t.address());
    assertEquals(10, t.dialPort());
  }

  @Test
  void theLoopCheckLooksAtTheDialPort() throws Exception {
    ProxyFailure f = failure(dialer(List.of(Cidr.parse("127.0.0.0/8")), 9).resolve("public.example", 443));
    assertTrue(f.reason().contains("loop"), f.reason());
  }

  @Test
  void hostsWithoutAnEntryAreDialedAsNamed() throws Exception {
    Target t = Await.result(dialer(List.of(Cidr.parse("127.0.0.0/8")), -1).resolve("127.0.0.3", 80));
    assertEquals(InetAddress.getByName("127.0.0.3"), t.address());
    assertEquals(80, t.dialPort());
  }
}
