package dev.tollgate.ingress.terminate;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.ingress.RequestTargets;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import java.util.function.IntSupplier;

/**
 * The plain companion of a terminating listener ({@code redirectHttp}): every request gets
 * {@code 308 Permanent Redirect} to the same host, path and query over https (308 keeps the
 * method and body, unlike 301). No HSTS here: browsers ignore it over plain HTTP.
 */
final class RedirectHandler implements Handler<HttpServerRequest> {
  private final IntSupplier httpsPort;

  /** @param httpsPort the TLS listener's port, named in the Location unless it is 443 */
  RedirectHandler(IntSupplier httpsPort) {
    this.httpsPort = httpsPort;
  }

  @Override
  public void handle(HttpServerRequest request) {
    String host = request.getHeader("host");
    if (host == null && request.authority() != null) {
      host = request.authority().host();
    }
    try {
      if (host == null || host.isBlank()) {
        throw ProxyFailure.badRequest("missing Host header");
      }
      HostPort hp = RequestTargets.hostWithDefaultPort(host, 80);
      String uri = request.uri();
      if (!uri.startsWith("/")) {
        uri = uri.regionMatches(true, 0, "http://", 0, 7) ? RequestTargets.absolute(uri).pathAndQuery() : "/";
      }
      int port = httpsPort.getAsInt();
      String name = hp.host().indexOf(':') >= 0 ? "[" + hp.host() + "]" : hp.host();
      String location = "https://" + name + (port == 443 ? "" : ":" + port) + uri;
      request.response().setStatusCode(308).putHeader("location", location).putHeader("content-length", "0").end();
    } catch (ProxyFailure e) {
      FailureResponder.respond(request, e);
    } catch (RuntimeException e) {
      FailureResponder.respond(request, ProxyFailure.badRequest("bad Host header: " + host));
    }
  }
}
