package dev.tollgate.ingress.impl;

import dev.tollgate.common.ProxyFailure;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.ingress.auth.ProxyAuthenticator;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.ingress.log.Exchanges;
import java.util.concurrent.atomic.AtomicReference;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * Dispatch: authenticate when the policy asks for it (or credentials were sent), then CONNECT to the
 * tunnel path and everything else to the forward path, each deciding on one policy snapshot.
 */
public final class ProxyHandler implements Handler<HttpServerRequest> {
  private final ConnectHandler connect;
  private final ForwardHandler forward;
  private final AtomicReference<Policy> policy;
  private final ProxyAuthenticator authenticator;
  private final AccessLog accessLog;

  private static final io.netty.util.AttributeKey<Boolean> OVER_CLIENT_CAP = io.netty.util.AttributeKey.valueOf("tollgate.overClientCap");
  private final dev.tollgate.common.limits.CapacityGuard capacity;
  private volatile boolean closeAfterResponse;

  /** Marks a client connection over its address's connection cap: its requests get 429. */
  public static void markOverClientCap(io.vertx.core.http.HttpConnection c) {
    if (c instanceof io.vertx.core.net.impl.ConnectionBase base) {
      base.channel().attr(OVER_CLIENT_CAP).set(Boolean.TRUE);
    }
  }

  private static boolean overClientCap(HttpServerRequest request) {
    return request.connection() instanceof io.vertx.core.net.impl.ConnectionBase base && base.channel().hasAttr(OVER_CLIENT_CAP);
  }

  public ProxyHandler(
      ConnectHandler connect,
      ForwardHandler forward,
      AtomicReference<Policy> policy,
      ProxyAuthenticator authenticator,
      AccessLog accessLog,
      dev.tollgate.common.limits.CapacityGuard capacity) {
    this.capacity = capacity;
    this.accessLog = accessLog;
    this.connect = connect;
    this.forward = forward;
    this.policy = policy;
    this.authenticator = authenticator;
  }

  /**
   * From now on (a drain) every HTTP/1.x response but a CONNECT's carries {@code Connection: close}
   * and its connection is closed once it is sent: kept-alive clients leave the node between two
   * requests, told so, rather than finding an idle connection closed under a request they send.
   */
  public void closeConnectionsAfterResponses() {
    closeAfterResponse = true;
  }

  @Override
  public void handle(HttpServerRequest request) {
    request.pause();
    if (closeAfterResponse && request.version() != HttpVersion.HTTP_2 && request.method() != HttpMethod.CONNECT) {
      HttpServerResponse response = request.response();
      response.headersEndHandler(v -> response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE));
      response.endHandler(v -> request.connection().close());
    }
    var remote = request.remoteAddress();
    String clientIp = remote == null ? "-" : remote.hostAddress();
    String client = remote == null ? "-" : new HostPort(clientIp, remote.port()).toString();
    AccessRecord record = new AccessRecord(client, request.method().name());
    if (overClientCap(request)) {
      Exchanges.fail(request, record, accessLog,
          ProxyFailure.limited("too many connections from " + clientIp + " (at most " + capacity.maxConnectionsPerClient() + ")", 1));
      return;
    }
    Policy inForce = policy.get(); // one snapshot for the whole decision
    String credentials = request.getHeader("proxy-authorization");
    if (!inForce.auth().required() && credentials == null) {
      dispatch(request, record, inForce, null, clientIp, client);
      return;
    }
    authenticator
        .authenticate(credentials, inForce.auth().users(), clientIp)
        .onComplete(ar -> dispatch(request, record, inForce, ar.succeeded() ? ar.result() : null, clientIp, client));
  }

  private void dispatch(HttpServerRequest request, AccessRecord record, Policy inForce, String user, String clientIp, String client) {
    record.user(user);
    try {
      if (request.method() == HttpMethod.CONNECT) {
        if (capacity.full()) {
          throw ProxyFailure.unavailable("node full: " + capacity.maxTunnels() + " tunnels open", 1);
        }
        if (capacity.memoryShort()) {
          throw ProxyFailure.unavailable("node short of memory: no new tunnels", 5);
        }
        connect.handle(request, record, client, inForce, user);
      } else {
        forward.handle(request, record, clientIp, client, inForce, user);
      }
    } catch (RuntimeException e) {
      Exchanges.fail(request, record, accessLog, e);
    }
  }
}
