package dev.tollgate.ingress.impl;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.ingress.auth.ProxyAuthenticator;
import java.util.concurrent.atomic.AtomicReference;
import dev.tollgate.ingress.FailureResponder;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

/**
 * Dispatch: authenticate when the policy asks for it (or credentials were sent), then CONNECT to the
 * tunnel path and everything else to the forward path, each deciding on one policy snapshot.
 */
public final class ProxyHandler implements Handler<HttpServerRequest> {
  private final ConnectHandler connect;
  private final ForwardHandler forward;
  private final AtomicReference<Policy> policy;
  private final ProxyAuthenticator authenticator;

  public ProxyHandler(ConnectHandler connect, ForwardHandler forward, AtomicReference<Policy> policy, ProxyAuthenticator authenticator) {
    this.connect = connect;
    this.forward = forward;
    this.policy = policy;
    this.authenticator = authenticator;
  }

  @Override
  public void handle(HttpServerRequest request) {
    request.pause();
    var remote = request.remoteAddress();
    String clientIp = remote == null ? "-" : remote.hostAddress();
    String client = remote == null ? "-" : new HostPort(clientIp, remote.port()).toString();
    Policy inForce = policy.get(); // one snapshot for the whole decision
    String credentials = request.getHeader("proxy-authorization");
    if (!inForce.auth().required() && credentials == null) {
      dispatch(request, inForce, null, clientIp, client);
      return;
    }
    authenticator
        .authenticate(credentials, inForce.auth().users(), clientIp)
        .onComplete(ar -> dispatch(request, inForce, ar.succeeded() ? ar.result() : null, clientIp, client));
  }

  private void dispatch(HttpServerRequest request, Policy inForce, String user, String clientIp, String client) {
    try {
      if (request.method() == HttpMethod.CONNECT) {
        connect.handle(request, client, inForce, user);
      } else {
        forward.handle(request, clientIp, client, inForce, user);
      }
    } catch (RuntimeException e) {
      FailureResponder.respond(request, e);
    }
  }
}
