package dev.tollgate.common.limits;

import dev.tollgate.common.policy.Limits;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's per-user limits: concurrent tunnels, requests per second (token bucket with burst),
 * and bytes per second for tunnels (shaping). Anonymous clients share the {@code -} entry. State
 * is node-local; a user's buckets are rebuilt when the limits in force change. Thread-safe.
 */
public final class UserLimiter {
  /** The user key anonymous requests are counted under. */
  public static final String ANONYMOUS = "-";

  private final ConcurrentHashMap<String, UserState> users = new ConcurrentHashMap<>();

  /** What one user holds and may spend; rebuilt when its limits change. */
  private static final class UserState {
    final AtomicInteger tunnels = new AtomicInteger();
    volatile Limits limits;
    volatile TokenBucket requests;
    volatile TokenBucket bytes;

    UserState(Limits limits, long nowNanos) {
      apply(limits, nowNanos);
    }

    void apply(Limits l, long nowNanos) {
      limits = l;
      requests = l.requestsPerSecond() > 0 ? new TokenBucket(l.requestsPerSecond(), l.burst() > 0 ? l.burst() : l.requestsPerSecond(), nowNanos) : null;
      bytes = l.bytesPerSecond() > 0 ? new TokenBucket(l.bytesPerSecond(), l.bytesPerSecond(), nowNanos) : null;
    }
  }

  private UserState state(String user, Limits limits, long nowNanos) {
    UserState s = users.computeIfAbsent(key(user), k -> new UserState(limits, nowNanos));
    if (!s.limits.equals(limits)) {
      synchronized (s) {
        if (!s.limits.equals(limits)) {
          s.apply(limits, nowNanos);
        }
      }
    }
    return s;
  }

  private static String key(String user) {
    return user == null ? ANONYMOUS : user;
  }

  /** Takes a request token; 0 when allowed, else nanoseconds until the next one. */
  public long request(String user, Limits limits, long nowNanos) {
    TokenBucket bucket = state(user, limits, nowNanos).requests;
    return bucket == null ? 0 : bucket.tryTake(nowNanos);
  }

  /** Takes a tunnel slot; false when the user already holds {@code maxTunnels}. Pair with {@link #releaseTunnel}. */
  public boolean acquireTunnel(String user, Limits limits, long nowNanos) {
    UserState s = state(user, limits, nowNanos);
    int max = limits.maxTunnels();
    while (true) {
      int held = s.tunnels.get();
      if (max > 0 && held >= max) {
        return false;
      }
      if (s.tunnels.compareAndSet(held, held + 1)) {
        return true;
      }
    }
  }

  public void releaseTunnel(String user) {
    UserState s = users.get(key(user));
    if (s != null) {
      s.tunnels.decrementAndGet();
    }
  }

  /** Tunnels the user holds now. */
  public int tunnels(String user) {
    UserState s = users.get(key(user));
    return s == null ? 0 : s.tunnels.get();
  }

  /**
   * The user's byte bucket for shaping its tunnels, or null when its bandwidth is unlimited. All
   * of a user's tunnels on this node share it.
   */
  public TokenBucket bytes(String user, Limits limits, long nowNanos) {
    return state(user, limits, nowNanos).bytes;
  }
}
