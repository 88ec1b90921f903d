package dev.tollgate.ingress.impl;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Limits;
import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.Verdict;
import dev.tollgate.tunnel.Tunnel;
import dev.tollgate.tunnel.TunnelOwner;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.ingress.log.Exchanges;
import dev.tollgate.ingress.RequestTargets;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.Target;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.Set;

/**
 * CONNECT: parse the authority-form target, check the port, dial, and only then answer
 * {@code 200 Connection Established} and relay. Bytes the client sent behind its CONNECT head are
 * written upstream first.
 */
public final class ConnectHandler {
  private final Dialer dialer;
  private final TunnelRegistry registry;
  private final Set<Integer> connectPorts;
  private final UserLimiter limiter;
  private final AccessLog accessLog;

  private final Interception interception;

  /** @param interception opens the tunnels an {@code intercept} rule matches, or null to relay them blind */
  public ConnectHandler(
      Dialer dialer, TunnelRegistry registry, Set<Integer> connectPorts, UserLimiter limiter, AccessLog accessLog, Interception interception) {
    this.interception = interception;
    this.accessLog = accessLog;
    this.dialer = dialer;
    this.registry = registry;
    this.connectPorts = connectPorts;
    this.limiter = limiter;
  }

  /**
   * @param client the client's address, {@code ip:port}
   * @param policy the policy snapshot to decide on
   * @param user the authenticated user, or null
   */
  public void handle(HttpServerRequest request, AccessRecord record, String client, Policy policy, String user) {
    record.target(targetText(request));
    HostPort hp = RequestTargets.authority(targetText(request));
    if (!connectPorts.contains(hp.port())) {
      throw ProxyFailure.denied("CONNECT to port " + hp.port() + " is not allowed");
    }
    Decision decision = Decisions.require(policy, "CONNECT", hp.host(), hp.port(), user, record);
    boolean intercept = decision.action() == Verdict.INTERCEPT && interception != null && !interception.passthrough(hp.host());
    Limits limits = Decisions.rate(limiter, policy, user);
    Decisions.quota(limiter, policy, user, false);
    long now = System.nanoTime();
    if (!limiter.acquireTunnel(user, limits, now)) {
      throw ProxyFailure.limited("tunnel limit reached: " + limits.maxTunnels() + " open", 1);
    }
    TunnelOwner owner = new TunnelOwner(user, limiter.bytes(user, limits, now), () -> limiter.releaseTunnel(user));
    dialer
        .resolve(hp.host(), hp.port())
        .compose(target -> intercept
            ? interception.open(request, client, target, owner, () -> takeEarlyBytes(request)).onSuccess(t -> accessLog.metrics().tunnelOpened())
            : dialer.connect(target).compose(upstream -> establish(request, client, target, upstream, owner)))
        .onSuccess(tunnel -> tunnel.closed().onComplete(ar -> {
          var info = tunnel.info();
          accessLog.log(record, 200, info.bytesUp(), info.bytesDown());
        }))
        .onFailure(e -> {
          owner.release().run(); // the tunnel never opened: give its slot back
          Exchanges.fail(request, record, accessLog, e);
        });
  }

  private Future<Tunnel> establish(HttpServerRequest request, String client, Target target, NetSocket upstream, TunnelOwner owner) {
    if (request.response().closed()) {
      upstream.close();
      return Future.failedFuture("the client left before the tunnel opened");
    }
    return request
        .toNetSocket()
        .onFailure(e -> upstream.close())
        .map(
            clientSocket -> {
              Buffer early = takeEarlyBytes(request);
              if (early != null) {
                upstream.write(early);
              }
              accessLog.metrics().tunnelOpened();
              return registry.open(Vertx.currentContext(), client, target, clientSocket, upstream, owner);
            });
  }

  private static Buffer takeEarlyBytes(HttpServerRequest request) {
    if (request.version() == HttpVersion.HTTP_2 || !(request.connection() instanceof ConnectionBase c)) {
      return null;
    }
    return c.channel().attr(StrictHttp1Decoder.EARLY_BYTES).getAndSet(null);
  }

  private static String targetText(HttpServerRequest request) {
    if (request.version() != HttpVersion.HTTP_2) {
      return request.uri();
    }
    HostAndPort authority = request.authority();
    if (authority == null) {
      return "";
    }
    String host = authority.host();
    if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return authority.port() < 0 ? host : host + ":" + authority.port();
  }
}
