package dev.tollgate.ingress.impl;

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
    String clientIp = request.remoteAddress() == null ? "-" : request.remoteAddress().hostAddress();
    try {
      if (request.method() == HttpMethod.CONNECT) {
        connect.handle(request, clientIp);
      } else {
        forward.handle(request, clientIp);
      }
    } catch (RuntimeException e) {
      FailureResponder.respond(request, e);
    }
  }
}
