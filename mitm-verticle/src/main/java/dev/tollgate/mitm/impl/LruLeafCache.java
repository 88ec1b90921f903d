package dev.tollgate.mitm.impl;

import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.mitm.LeafCache;
import dev.tollgate.mitm.LeafCertificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link LeafCache} over an access-ordered {@link LinkedHashMap} behind one lock. The lock is held
 * for map operations only, never while minting, so contention costs nanoseconds against a mint's
 * millisecond.
 */
public final class LruLeafCache implements LeafCache {
  private final CertificateAuthority ca;
  private final Executor executor;
  private final int maxEntries;
  private final Clock clock;
  private final Map<String, Entry> entries;
  private final AtomicLong mints = new AtomicLong();
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong evictions = new AtomicLong();

  /** One name's leaf, minted or in flight; {@code renewAt} is set once minted. */
  private static final class Entry {
    final CompletableFuture<LeafCertificate> leaf = new CompletableFuture<>();
    volatile Instant renewAt;
  }

  public LruLeafCache(CertificateAuthority ca, Executor executor, int maxEntries, Clock clock) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be positive, got " + maxEntries);
    }
    this.ca = ca;
    this.executor = executor;
    this.maxEntries = maxEntries;
    this.clock = clock;
    this.entries =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
            boolean full = size() > LruLeafCache.this.maxEntries;
            if (full) {
              evictions.incrementAndGet();
            }
            return full;
          }
        };
  }

  @Override
  public CompletionStage<LeafCertificate> get(String name) {
    String key;
    try {
      key = LeafName.parse(name).text();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedStage(e);
    }
    Entry entry;
    synchronized (entries) {
      Entry cached = entries.get(key);
      if (cached != null && (cached.renewAt == null || clock.instant().isBefore(cached.renewAt))) {
        hits.incrementAndGet();
        return cached.leaf.minimalCompletionStage();
      }
      entry = new Entry();
      entries.put(key, entry);
    }
    mints.incrementAndGet();
    mint(key, entry);
    return entry.leaf.minimalCompletionStage();
  }

  private void mint(String key, Entry entry) {
    try {
      executor.execute(
          () -> {
            try {
              LeafCertificate leaf = ca.mint(key);
              entry.renewAt = renewAt(leaf);
              entry.leaf.complete(leaf);
            } catch (RuntimeException | Error e) {
              forget(key, entry);
              entry.leaf.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      forget(key, entry);
      entry.leaf.completeExceptionally(e);
    }
  }

  /** When two thirds of the validity have passed: clients never see a leaf near its end. */
  static Instant renewAt(LeafCertificate leaf) {
    Duration validity = Duration.between(leaf.notBefore(), leaf.notAfter());
    return leaf.notAfter().minus(validity.dividedBy(3));
  }

  /** Drops a failed entry, unless a newer one has replaced it meanwhile. */
  private void forget(String key, Entry entry) {
    synchronized (entries) {
      entries.remove(key, entry);
    }
  }

  @Override
  public long mints() {
    return mints.get();
  }

  @Override
  public long hits() {
    return hits.get();
  }

  @Override
  public long evictions() {
    return evictions.get();
  }

  @Override
  public int size() {
    synchronized (entries) {
      return entries.size();
    }
  }
}
