package dev.tollgate.ingress.impl;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.limits.TokenBucket;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Limits;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.ingress.log.Exchanges;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.ingress.RequestTargets;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.HttpForwarder;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;

/** Absolute-form requests (h2: {@code :scheme http} with an authority): resolve, check, forward. */
public final class ForwardHandler {
  private final Dialer dialer;
  private final HttpForwarder forwarder;
  private final String viaToken;
  private final UserLimiter limiter;
  private final AccessLog accessLog;

  public ForwardHandler(Dialer dialer, HttpForwarder forwarder, String nodeName, UserLimiter limiter, AccessLog accessLog) {
    this.accessLog = accessLog;
    this.limiter = limiter;
    this.dialer = dialer;
    this.forwarder = forwarder;
    this.viaToken = nodeName + " (tollgate)";
  }

  /**
   * @param clientIp the client's IP (for {@code X-Forwarded-For})
   * @param client the client's address, {@code ip:port}
   * @param policy the policy snapshot to decide on
   * @param user the authenticated user, or null
   */
  public void handle(HttpServerRequest request, AccessRecord record, String clientIp, String client, Policy policy, String user) {
    record.target(request.version() == HttpVersion.HTTP_2 ? request.scheme() + "://" + request.authority() + request.uri() : request.uri());
    String host;
    int port;
    String pathAndQuery;
    if (request.version() == HttpVersion.HTTP_2) {
      if (!"http".equals(request.scheme())) {
        throw ProxyFailure.badRequest("unsupported scheme '" + request.scheme() + "': use CONNECT for https");
      }
      HostAndPort authority = request.authority();
      if (authority == null) {
        throw ProxyFailure.badRequest("missing :authority");
      }
      HostPort hp = RequestTargets.hostWithDefaultPort(authorityText(authority), 80);
      host = hp.host();
      port = hp.port();
      pathAndQuery = request.uri().isEmpty() ? "/" : request.uri();
    } else {
      RequestTargets.Absolute target = RequestTargets.absolute(request.uri());
      host = target.host();
      port = target.port();
      pathAndQuery = target.pathAndQuery();
    }
    for (String via : request.headers().getAll("via")) {
      if (via.contains(viaToken)) {
        throw ProxyFailure.denied("forwarding loop: the request already passed this proxy");
      }
    }
    Decisions.require(policy, request.method().name(), host, port, user, record);
    Limits limits = Decisions.rate(limiter, policy, user);
    Decisions.quota(limiter, policy, user, true);
    TokenBucket bytes = limiter.bytes(user, limits, System.nanoTime());
    dialer
        .resolve(host, port)
        .compose(t -> forwarder.forward(request, t, pathAndQuery, clientIp, client, bytes, user))
        .onSuccess(v -> accessLog.log(record, request.response().getStatusCode(), request.bytesRead(), request.response().bytesWritten()))
        .onFailure(e -> Exchanges.fail(request, record, accessLog, e));
  }

  private static String authorityText(HostAndPort authority) {
    String host = authority.host();
    if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return authority.port() < 0 ? host : host + ":" + authority.port();
  }
}
