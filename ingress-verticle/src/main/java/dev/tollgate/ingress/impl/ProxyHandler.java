package dev.tollgate.ingress.impl;

import dev.tollgate.common.HostPort;
import dev.tollgate.ingress.FailureResponder;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

/** Dispatch: CONNECT to the tunnel path, everything else to the forward path. */
public final class ProxyHandler implements Handler<HttpServerRequest> {
  private final ConnectHandler connect;
  private final ForwardHandler forward;

  public ProxyHandler(ConnectHandler connect, ForwardHandler forward) {
    this.connect = connect;
    this.forward = forward;
  }

  @Override
  public void handle(HttpServerRequest request) {
    request.pause();
    var remote = request.remoteAddress();
    String clientIp = remote == null ? "-" : remote.hostAddress();
    String client = remote == null ? "-" : new HostPort(clientIp, remote.port()).toString();
    try {
      if (request.method() == HttpMethod.CONNECT) {
        connect.handle(request, client);
      } else {
        forward.handle(request, clientIp, client);
      }
    } catch (RuntimeException e) {
      FailureResponder.respond(request, e);
    }
  }
}
