package dev.tollgate.ingress.terminate;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.TerminateConfig;
import dev.tollgate.common.limits.CapacityGuard;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.ClientCertificate;
import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Limits;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyEngine;
import dev.tollgate.common.policy.PolicyRequest;
import dev.tollgate.common.quota.Denial;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.Target;
import dev.tollgate.tunnel.TunnelOwner;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code tunnelService} connection: TLS is up and the client's certificate verified (the
 * listener requires one); the policy's rules for this listener decide it as a {@code CONNECT} to
 * the backend (a denied client is logged with 403 and its connection closed); then the stream is
 * relayed to the one backend — over TLS when it is {@code https://}, verified like any upstream.
 *
 * <p>It is a tunnel like a CONNECT one: registered and listed with its user (the certificate's
 * {@link ClientCertificate#userName}), counted against the node's tunnel cap, the memory guard,
 * the per-address connection cap, and that user's limits and quotas (one request against the
 * rate, one tunnel against {@code maxTunnels}, its bytes against the bandwidth and the volume
 * quotas, its time against the tunnel-time quota), swept for idle and lifetime timeouts, and
 * logged as a {@code CONNECT} line when it ends.
 */
final class TunnelService implements Handler<NetSocket> {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelService.class);

  private final TerminateConfig config;
  private final Backends backends;
  private final Dialer dialer;
  private final NetClient tlsClient;
  private final dev.tollgate.tunnel.UpstreamTls upstreams;
  private final Supplier<java.time.Duration> connectTimeout;
  private final TunnelRegistry registry;
  private final CapacityGuard capacity;
  private final UserLimiter limiter;
  private final AtomicReference<Policy> policy;
  private final AccessLog accessLog;

  TunnelService(
      TerminateConfig config,
      Backends backends,
      Dialer dialer,
      NetClient tlsClient,
      dev.tollgate.tunnel.UpstreamTls upstreams,
      Supplier<java.time.Duration> connectTimeout,
      TunnelRegistry registry,
      CapacityGuard capacity,
      UserLimiter limiter,
      AtomicReference<Policy> policy,
      AccessLog accessLog) {
    this.config = config;
    this.backends = backends;
    this.dialer = dialer;
    this.tlsClient = tlsClient;
    this.upstreams = upstreams;
    this.connectTimeout = connectTimeout;
    this.registry = registry;
    this.capacity = capacity;
    this.limiter = limiter;
    this.policy = policy;
    this.accessLog = accessLog;
  }

  @Override
  public void handle(NetSocket socket) {
    socket.pause();
    var remote = socket.remoteAddress();
    String client = remote == null ? "-" : new HostPort(remote.hostAddress(), remote.port()).toString();
    AccessRecord record = new AccessRecord(client, "CONNECT").target(config.backend().toString());
    ClientCertificate certificate = certificate(socket);
    if (LOG.isDebugEnabled()) {
      LOG.debug("tunnel service {}: client {} is {}", config.name(), client, certificate == null ? "without a readable certificate" : certificate.subject());
    }
    Decision decision =
        PolicyEngine.decide(
            PolicyRequest.terminating("CONNECT", config.backend().host(), config.backend().port(), config.name(), certificate), policy.get());
    record.decision(decision);
    String user = certificate == null ? null : certificate.userName();
    record.user(user);
    if (!decision.allowed()) {
      refuse(socket, record, ProxyFailure.denied(decision.reason()));
      return;
    }
    String ip = remote == null ? "-" : remote.hostAddress();
    if (!capacity.opened(ip)) {
      capacity.closed(ip);
      refuse(socket, record, ProxyFailure.limited("too many connections from " + ip + " (at most " + capacity.maxConnectionsPerClient() + ")", 1));
      return;
    }
    if (capacity.full() || capacity.memoryShort()) {
      capacity.closed(ip);
      refuse(socket, record, ProxyFailure.unavailable(capacity.full() ? "node full: " + capacity.maxTunnels() + " tunnels open" : "node short of memory", 1));
      return;
    }
    Policy p = policy.get();
    Limits limits = p.limitsFor(user);
    long now = System.nanoTime();
    ProxyFailure limited = limited(p, user, limits, now);
    if (limited != null) {
      capacity.closed(ip);
      refuse(socket, record, limited);
      return;
    }
    // Called once: when the tunnel ends, or when it never opened.
    TunnelOwner owner = new TunnelOwner(user, limiter.bytes(user, limits, now), () -> {
      limiter.releaseTunnel(user);
      capacity.closed(ip);
    }, false);
    var context = Vertx.currentContext();
    boolean[] left = {false};
    socket.closeHandler(v -> left[0] = true); // replaced by the tunnel's own once it opens
    backends
        .resolve(config.backend())
        .compose(target -> connect(target).map(upstream -> {
          if (left[0]) {
            upstream.close();
            throw new IllegalStateException("the client left before the tunnel opened");
          }
          accessLog.metrics().tunnelOpened();
          return registry.open(context, client, target, socket, upstream, owner);
        }))
        .onSuccess(tunnel -> tunnel.closed().onComplete(ar -> {
          var info = tunnel.info();
          accessLog.log(record, 200, info.bytesUp(), info.bytesDown());
        }))
        .onFailure(e -> {
          owner.release().run();
          refuse(socket, record, e instanceof ProxyFailure pf ? pf : ProxyFailure.upstream(String.valueOf(e.getMessage()), e));
        });
  }

  /**
   * What the user's limits say against one more tunnel, as for a CONNECT: the request rate, the
   * quotas, then {@code maxTunnels} (a slot is taken when all pass); null when it may open.
   */
  private ProxyFailure limited(Policy p, String user, Limits limits, long now) {
    long waitNanos = limiter.request(user, limits, now);
    if (waitNanos > 0) {
      return ProxyFailure.limited("request rate limit: " + limits.requestsPerSecond() + "/s", (waitNanos + 999_999_999L) / 1_000_000_000L);
    }
    Denial quota = limiter.quotas().check(UserLimiter.key(user), p.quotaFor(user), false);
    if (quota != null) {
      return ProxyFailure.limited(quota.reason(), quota.retryAfterSeconds());
    }
    if (!limiter.acquireTunnel(user, limits, now)) {
      return ProxyFailure.limited("tunnel limit reached: " + limits.maxTunnels() + " open", 1);
    }
    return null;
  }

  /** The verified leaf the listener required, or null when it cannot be read. */
  private static ClientCertificate certificate(NetSocket socket) {
    try {
      return ClientCertificate.ofChain(socket.peerCertificates());
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  /** Plain backends go through the dialer (its connect timeout and metrics); TLS ones through the verifying client. */
  private Future<NetSocket> connect(Target target) {
    if (!config.backend().tls()) {
      return dialer.connect(target);
    }
    ConnectOptions options =
        new ConnectOptions()
            .setRemoteAddress(SocketAddress.inetSocketAddress(target.port(), target.address().getHostAddress()))
            .setHost(target.host())
            .setPort(target.port())
            .setSsl(true)
            .setTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.get().toMillis()));
    // A backend with upstreams: settings sends its sni and is verified against its verifyName.
    dev.tollgate.tunnel.UpstreamTls.Route route = upstreams.route(target.host(), target.port());
    String sni = route != null ? route.sni() : target.host();
    if (route != null && route.sslOptions() != null) {
      options.setSslOptions(route.sslOptions());
    }
    if (IpLiterals.parse(sni) == null) {
      options.setSniServerName(sni);
    }
    return tlsClient.connect(options).recover(e -> Future.failedFuture(Dialer.connectFailure(target, e)));
  }

  /** There is no HTTP to answer in: the failure is logged and counted, and the connection closed. */
  private void refuse(NetSocket socket, AccessRecord record, ProxyFailure failure) {
    LOG.debug("tunnel service {}: {}", config.name(), failure.reason());
    record.failure(failure.reason());
    accessLog.log(record, failure.status(), 0, 0);
    socket.close();
  }
}
