package dev.tollgate.ingress.terminate;

import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.TerminateConfig.Backend;
import dev.tollgate.tunnel.Target;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Resolves configured backends, off the event loop. Unlike a proxy target, a backend is named by
 * the operator, not by a client: it is not subject to the private-address refusal (backends
 * usually live on private networks).
 */
final class Backends {
  private final Vertx vertx;

  Backends(Vertx vertx) {
    this.vertx = vertx;
  }

  Future<Target> resolve(Backend backend) {
    InetAddress literal = IpLiterals.parse(backend.host());
    if (literal != null) {
      return Future.succeededFuture(new Target(backend.host(), backend.port(), literal));
    }
    return vertx
        .executeBlocking(() -> InetAddress.getByName(backend.host()), false)
        .map(a -> new Target(backend.host(), backend.port(), a))
        .recover(e -> Future.failedFuture(
            ProxyFailure.upstream("backend " + backend + ": DNS lookup failed" + (e instanceof UnknownHostException ? "" : ": " + e.getMessage()), e)));
  }
}
