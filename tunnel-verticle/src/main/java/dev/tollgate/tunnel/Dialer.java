package dev.tollgate.tunnel;

import dev.tollgate.common.AddressClassifier;
import dev.tollgate.common.Cidr;
import dev.tollgate.common.HostPort;
import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.metrics.ProxyMetrics;
import dev.tollgate.tunnel.impl.TlsFailures;
import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.function.BiPredicate;
import java.util.function.Supplier;

/**
 * Resolves upstream names off the event loop, refuses addresses that are not public unless a CIDR
 * allows them, and connects to exactly the address it checked. One per event loop.
 */
public final class Dialer {

  private final Vertx vertx;
  private final NetClient client;
  private final Supplier<List<Cidr>> allowPrivate;
  private final BiPredicate<InetAddress, Integer> isSelf;
  private final Supplier<Duration> connectTimeout;
  private final UpstreamTls upstreams;

  /**
   * @param allowPrivate networks exempt from the private-address refusal (read per request: policy may change it)
   * @param connectTimeout upstream connect timeout, read per connect (a {@link ProxyFailure.Kind#TIMEOUT} after it)
   * @param isSelf whether an address and port is one of this node's own listeners (a loop)
   */
  private final ProxyMetrics metrics;

  public Dialer(
      Vertx vertx,
      Supplier<List<Cidr>> allowPrivate,
      Supplier<Duration> connectTimeout,
      BiPredicate<InetAddress, Integer> isSelf) {
    this(vertx, allowPrivate, connectTimeout, isSelf, ProxyMetrics.none());
  }

  /** @param metrics times every upstream connect */
  public Dialer(
      Vertx vertx,
      Supplier<List<Cidr>> allowPrivate,
      Supplier<Duration> connectTimeout,
      BiPredicate<InetAddress, Integer> isSelf,
      ProxyMetrics metrics) {
    this(vertx, allowPrivate, connectTimeout, isSelf, metrics, UpstreamTls.none());
  }

  /** @param upstreams where each upstream is really dialed ({@code upstreams:} {@code dial}) */
  public Dialer(
      Vertx vertx,
      Supplier<List<Cidr>> allowPrivate,
      Supplier<Duration> connectTimeout,
      BiPredicate<InetAddress, Integer> isSelf,
      ProxyMetrics metrics,
      UpstreamTls upstreams) {
    this.upstreams = upstreams;
    this.metrics = metrics;
    this.connectTimeout = connectTimeout;
    this.vertx = vertx;
    this.allowPrivate = allowPrivate;
    this.isSelf = isSelf;
    this.client =
        vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true));
  }

  /**
   * Resolves and checks {@code host:port} — or the {@code dial} address configured for it, which
   * is then what the private-address and loop checks judge; fails with a {@link ProxyFailure}
   * (403, 502).
   */
  public Future<Target> resolve(String host, int port) {
    HostPort dial = upstreams.dial(host, port);
    String dialHost = dial == null ? host : dial.host();
    int dialPort = dial == null ? port : dial.port();
    InetAddress literal = IpLiterals.parse(dialHost);
    if (literal != null) {
      return check(host, port, dialPort, new InetAddress[] {literal});
    }
    String what = dial == null ? host : dialHost + " (dial of " + host + ")";
    return vertx
        .executeBlocking(() -> InetAddress.getAllByName(dialHost), false)
        .recover(
            e ->
                Future.failedFuture(
                    e instanceof UnknownHostException
                        ? ProxyFailure.upstream("DNS lookup failed for " + what, null)
                        : ProxyFailure.upstream("DNS lookup failed for " + what + ": " + e.getMessage(), e)))
        .compose(all -> check(host, port, dialPort, all));
  }

  private Future<Target> check(String host, int port, int dialPort, InetAddress[] candidates) {
    ProxyFailure refusal = null;
    List<Cidr> allowed = allowPrivate.get();
    for (InetAddress a : candidates) {
      if (!AddressClassifier.permitted(a, allowed)) {
        refusal = ProxyFailure.denied(AddressClassifier.classify(a).reason());
        continue;
      }
      if (isSelf.test(AddressClassifier.unmapped(a), dialPort)) {
        refusal = ProxyFailure.denied("forwarding loop: the target is this proxy");
        continue;
      }
      return Future.succeededFuture(new Target(host, port, a, dialPort));
    }
    return Future.failedFuture(refusal);
  }

  /** Connects to the checked address; fails with 502 (refused, unreachable) or 504 (timeout). */
  public Future<NetSocket> connect(Target target) {
    SocketAddress address = SocketAddress.inetSocketAddress(target.dialPort(), target.address().getHostAddress());
    int timeout = (int) Math.min(Integer.MAX_VALUE, connectTimeout.get().toMillis());
    long start = System.nanoTime();
    return client
        .connect(new ConnectOptions().setRemoteAddress(address).setTimeout(timeout))
        .andThen(ar -> metrics.upstreamConnect(System.nanoTime() - start, ar.succeeded()))
        .recover(e -> Future.failedFuture(connectFailure(target, e)));
  }

  /** Maps a connect error to the failure the client sees. */
  public static ProxyFailure connectFailure(Target target, Throwable e) {
    if (e instanceof ProxyFailure pf) {
      return pf;
    }
    if (e instanceof ConnectTimeoutException || e instanceof java.net.SocketTimeoutException) {
      return ProxyFailure.timeout("connect to " + target.authority() + " timed out");
    }
    if (e instanceof ConnectException) {
      return ProxyFailure.upstream("connection to " + target.authority() + " refused", e);
    }
    return ProxyFailure.upstream("cannot connect to " + target.authority() + ": " + TlsFailures.reason(e), e);
  }

  /** Closes the underlying client. */
  public Future<Void> close() {
    return client.close();
  }
}
