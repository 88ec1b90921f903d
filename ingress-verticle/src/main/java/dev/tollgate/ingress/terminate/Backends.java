package dev.tollgate.ingress.terminate;

import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.TerminateConfig.Backend;
import dev.tollgate.tunnel.Target;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Resolves configured backends, off the event loop, and keeps their addresses for a while. Unlike a proxy target, a backend is named by
 * the operator, not by a client: it is not subject to the private-address refusal (backends
 * usually live on private networks).
 */
final class Backends {
  /** How long a name's address is reused (the JVM's own positive DNS cache keeps 30 s by default). */
  private static final long TTL_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final Vertx vertx;
  /** The last address of each backend: literals for good, names for {@link #TTL_NANOS}. */
  private final Map<Backend, Resolved> known = new ConcurrentHashMap<>();

  private record Resolved(Target target, long expiresNanos) {}

  Backends(Vertx vertx) {
    this.vertx = vertx;
  }

  /** The backend's address when known without a lookup (a literal, or a name looked up lately), else null. */
  Target resolved(Backend backend) {
    Resolved r = known.get(backend);
    if (r != null && (r.expiresNanos == Long.MAX_VALUE || System.nanoTime() - r.expiresNanos < 0)) {
      return r.target;
    }
    InetAddress literal = IpLiterals.parse(backend.host());
    if (literal == null) {
      return null;
    }
    Target t = new Target(backend.host(), backend.port(), literal);
    known.put(backend, new Resolved(t, Long.MAX_VALUE));
    return t;
  }

  Future<Target> resolve(Backend backend) {
    Target ready = resolved(backend);
    if (ready != null) {
      return Future.succeededFuture(ready);
    }
    return vertx
        .executeBlocking(() -> InetAddress.getByName(backend.host()), false)
        .map(a -> {
          Target t = new Target(backend.host(), backend.port(), a);
          known.put(backend, new Resolved(t, System.nanoTime() + TTL_NANOS));
          return t;
        })
        .recover(e -> Future.failedFuture(
            ProxyFailure.upstream("backend " + backend + ": DNS lookup failed" + (e instanceof UnknownHostException ? "" : ": " + e.getMessage()), e)));
  }
}
