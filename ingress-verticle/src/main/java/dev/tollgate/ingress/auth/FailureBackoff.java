package dev.tollgate.ingress.auth;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Slows down a client address that keeps failing proxy authentication: after a few free
 * failures, each further 407 waits twice as long as the one before, up to a ceiling. Forgotten
 * after a quiet period. Bounded in the number of addresses it tracks. Thread-safe.
 */
public final class FailureBackoff {
  static final int FREE_FAILURES = 3;
  static final long BASE_DELAY_MILLIS = 100;
  static final long MAX_DELAY_MILLIS = 5_000;
  static final long FORGET_AFTER_NANOS = 10L * 60 * 1_000_000_000L;

  private record Failures(int count, long lastNanos) {}

  private final Map<String, Failures> byAddress;

  public FailureBackoff(int maxAddresses) {
    this.byAddress =
        new LinkedHashMap<>(64, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Failures> eldest) {
            return size() > maxAddresses;
          }
        };
  }

  /** Records a failure from {@code address}; returns how long to delay its 407, in milliseconds. */
  public long failed(String address, long nowNanos) {
    synchronized (byAddress) {
      Failures f = byAddress.get(address);
      int count = f == null || nowNanos - f.lastNanos() > FORGET_AFTER_NANOS ? 1 : f.count() + 1;
      byAddress.put(address, new Failures(count, nowNanos));
      if (count <= FREE_FAILURES) {
        return 0;
      }
      int doublings = Math.min(count - FREE_FAILURES - 1, 16);
      return Math.min(MAX_DELAY_MILLIS, BASE_DELAY_MILLIS << doublings);
    }
  }

  /** A success clears the address's record. */
  public void succeeded(String address) {
    synchronized (byAddress) {
      byAddress.remove(address);
    }
  }
}
