package dev.tollgate.mitm;

import dev.tollgate.mitm.impl.LruLeafCache;
import java.time.Clock;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Minted leaves by host name, so that a host is minted for once and not per connection.
 *
 * <ul>
 *   <li>Bounded: least recently used names are evicted beyond {@code maxEntries}.
 *   <li>Fresh: a leaf is re-minted once less than a third of its validity remains, so a
 *       handshake never gets a leaf about to expire.
 *   <li>Minted once: concurrent requests for one name share one in-flight mint.
 *   <li>Off the event loop: minting runs on the executor given at creation. From Vert.x, pass
 *       {@code task -> vertx.executeBlocking(() -> { task.run(); return null; }, false)} (or a
 *       {@code WorkerExecutor} the same way) and turn the result into a Future with {@code
 *       Future.fromCompletionStage(stage, context)} to get back on the event loop.
 * </ul>
 *
 * A failed mint is not cached: the next request tries again.
 */
public interface LeafCache {
  int DEFAULT_MAX_ENTRIES = 10_000;

  static LeafCache create(CertificateAuthority ca, Executor executor) {
    return create(ca, executor, DEFAULT_MAX_ENTRIES, Clock.systemUTC());
  }

  /**
   * @param clock decides when a leaf is due for renewal; give the CA the same clock ({@link
   *     CertificateAuthority#withClock}) when it is not the system clock
   */
  static LeafCache create(CertificateAuthority ca, Executor executor, int maxEntries, Clock clock) {
    return new LruLeafCache(ca, executor, maxEntries, clock);
  }

  /**
   * The leaf for {@code name} (canonicalised as {@link CertificateAuthority#mint} does): at once
   * when cached, else when minted. Fails with {@link IllegalArgumentException} for a name the CA
   * cannot mint for. Callbacks run on the minting thread or the caller's: hop back to your
   * context before touching it.
   */
  CompletionStage<LeafCertificate> get(String name);

  /** Mints started (each counts once however many requests wait on it). */
  long mints();

  /** Requests answered from the cache, including those that joined a mint in flight. */
  long hits();

  /** Entries dropped because the cache was full. */
  long evictions();

  /** Names cached now (minted or in flight). */
  int size();
}
