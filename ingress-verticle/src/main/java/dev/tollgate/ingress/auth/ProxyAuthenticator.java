package dev.tollgate.ingress.auth;

import io.vertx.core.Future;
import dev.tollgate.common.metrics.ProxyMetrics;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks {@code Proxy-Authorization: Basic} against the policy's users. bcrypt runs on a worker,
 * never on the event loop; verified credentials are cached; repeated failures from one address
 * are slowed down and logged without the password. One per node (thread-safe).
 */
public final class ProxyAuthenticator {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyAuthenticator.class);

  private final Vertx vertx;
  private final CredentialCache cache = new CredentialCache(10_000, TimeUnit.MINUTES.toNanos(5));
  private final FailureBackoff backoff = new FailureBackoff(10_000);

  private final ProxyMetrics metrics;

  public ProxyAuthenticator(Vertx vertx) {
    this(vertx, ProxyMetrics.none());
  }

  /** @param metrics counts refused logins */
  public ProxyAuthenticator(Vertx vertx, ProxyMetrics metrics) {
    this.vertx = vertx;
    this.metrics = metrics;
  }

  /**
   * The authenticated user, or null when the header is missing or its credentials do not verify
   * (after the backoff delay for that client address).
   *
   * @param header the {@code Proxy-Authorization} value, may be null
   * @param users user name to bcrypt hash
   * @param clientIp the client's address, for the backoff and the log
   */
  public Future<String> authenticate(String header, Map<String, String> users, String clientIp) {
    BasicCredentials credentials = BasicCredentials.parse(header);
    if (credentials == null) {
      return Future.succeededFuture(null); // no credentials is not a failure: the client is asked
    }
    String hash = users.get(credentials.user());
    if (hash == null) {
      return fail(credentials.user(), clientIp, "unknown user");
    }
    if (cache.contains(credentials, hash, System.nanoTime())) {
      return Future.succeededFuture(credentials.user());
    }
    return vertx
        .executeBlocking(() -> PasswordHashes.verify(credentials.password(), hash), false)
        .compose(ok -> {
          if (!ok) {
            return fail(credentials.user(), clientIp, "wrong password");
          }
          cache.put(credentials, hash, System.nanoTime());
          backoff.succeeded(clientIp);
          return Future.succeededFuture(credentials.user());
        });
  }

  private Future<String> fail(String user, String clientIp, String why) {
    metrics.authFailure();
    long delay = backoff.failed(clientIp, System.nanoTime());
    LOG.warn("proxy authentication failed: client={} user={} reason={} delay={}ms", clientIp, user, why, delay);
    if (delay == 0) {
      return Future.succeededFuture(null);
    }
    return Future.future(p -> vertx.setTimer(delay, t -> p.complete(null)));
  }
}
