package dev.tollgate.common.limits;

import dev.tollgate.common.policy.Limits;
import dev.tollgate.common.quota.QuotaLedger;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Per-user limits: concurrent tunnels, requests per second (token bucket with burst), and bytes
 * per second (shaping). Anonymous clients share the {@code -} entry. Thread-safe.
 *
 * <p>Every decision is taken here, without a network round trip. In a cluster, the other nodes'
 * reports ({@link #applyRemote}) make the limits cluster-wide: their open tunnels count against
 * {@code maxTunnels}, and what they spent is charged to this node's buckets, so the total over
 * all nodes follows one rate. What this node holds and spent goes out through {@link #drainUsage}.
 * A user's buckets are reconfigured in place when its limits change, so open tunnels follow a
 * new policy at once.
 */
public final class UserLimiter {
  /** The user key anonymous requests are counted under. */
  public static final String ANONYMOUS = "-";

  private final ConcurrentHashMap<String, UserState> users = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Remote> remote = new ConcurrentHashMap<>();
  private volatile Runnable onTunnelsChanged = () -> {};
  private final QuotaLedger quotas;

  public UserLimiter() {
    this(new QuotaLedger());
  }

  /** @param quotas where every byte of a user's (through their byte bucket) is counted for their quotas */
  public UserLimiter(QuotaLedger quotas) {
    this.quotas = quotas;
  }

  /** The users' quota accounting. */
  public QuotaLedger quotas() {
    return quotas;
  }

  /** What one user holds and may spend on this node. */
  private static final class UserState {
    final AtomicInteger tunnels = new AtomicInteger();
    final TokenBucket requests;
    final TokenBucket bytes;
    volatile Limits limits;

    UserState(Limits limits, long nowNanos) {
      requests = TokenBucket.unlimited(nowNanos);
      bytes = TokenBucket.unlimited(nowNanos);
      apply(limits, nowNanos);
    }

    void apply(Limits l, long nowNanos) {
      limits = l;
      requests.reconfigure(l.requestsPerSecond(), l.burst() > 0 ? l.burst() : l.requestsPerSecond(), nowNanos);
      bytes.reconfigure(l.bytesPerSecond(), l.bytesPerSecond(), nowNanos);
    }
  }

  /** One other node's last report: its open tunnels per user. */
  private record Remote(Map<String, Integer> tunnels, long heardNanos) {}

  private UserState state(String user, Limits limits, long nowNanos) {
    UserState s = users.computeIfAbsent(key(user), k -> {
      UserState fresh = new UserState(limits, nowNanos);
      fresh.bytes.meter(n -> quotas.countBytes(k, n));
      return fresh;
    });
    if (!s.limits.equals(limits)) {
      synchronized (s) {
        if (!s.limits.equals(limits)) {
          s.apply(limits, nowNanos);
        }
      }
    }
    return s;
  }

  /** The key {@code user} is counted under ({@link #ANONYMOUS} for null). */
  public static String key(String user) {
    return user == null ? ANONYMOUS : user;
  }

  /** Takes a request token; 0 when allowed, else nanoseconds until the next one. */
  public long request(String user, Limits limits, long nowNanos) {
    return state(user, limits, nowNanos).requests.tryTake(nowNanos);
  }

  /**
   * Takes a tunnel slot; false when the user already holds {@code maxTunnels} here and on the
   * other nodes together. Pair with {@link #releaseTunnel}.
   */
  public boolean acquireTunnel(String user, Limits limits, long nowNanos) {
    UserState s = state(user, limits, nowNanos);
    int max = limits.maxTunnels();
    int elsewhere = max > 0 ? remoteTunnels(key(user)) : 0;
    while (true) {
      int held = s.tunnels.get();
      if (max > 0 && held + elsewhere >= max) {
        return false;
      }
      if (s.tunnels.compareAndSet(held, held + 1)) {
        onTunnelsChanged.run();
        return true;
      }
    }
  }

  public void releaseTunnel(String user) {
    UserState s = users.get(key(user));
    if (s != null) {
      s.tunnels.decrementAndGet();
      onTunnelsChanged.run();
    }
  }

  /** Tunnels the user holds on this node now. */
  public int tunnels(String user) {
    UserState s = users.get(key(user));
    return s == null ? 0 : s.tunnels.get();
  }

  /**
   * The user's byte bucket, shared by all of its tunnels and responses on this node; unlimited
   * (but reconfigurable by a later policy) when the limits set no bandwidth.
   */
  public TokenBucket bytes(String user, Limits limits, long nowNanos) {
    return state(user, limits, nowNanos).bytes;
  }

  /** Reconfigures every known user's buckets to the limits now in force (a new policy). */
  public void applyLimits(Function<String, Limits> limitsFor, long nowNanos) {
    users.forEach((user, s) -> state(user.equals(ANONYMOUS) ? null : user, limitsFor.apply(user.equals(ANONYMOUS) ? null : user), nowNanos));
  }

  // ---- the cluster's accounting ----

  /** Called (on any thread) after a tunnel slot is taken or given back, to report it promptly. */
  public void onTunnelsChanged(Runnable listener) {
    onTunnelsChanged = listener;
  }

  /** Per user: tunnels held now, and what was spent since the last call. Users with nothing are left out. */
  public Map<String, Usage> drainUsage() {
    Map<String, Usage> out = new HashMap<>();
    users.forEach((user, s) -> {
      Usage u = new Usage(s.tunnels.get(), s.requests.drainTaken(), s.bytes.drainTaken());
      if (!u.isZero()) {
        out.put(user, u);
      }
    });
    return out;
  }

  /**
   * Takes another node's report: its tunnel levels replace the previous ones, and its spending is
   * charged to this node's buckets (users are keyed as in {@link #drainUsage}).
   */
  public void applyRemote(String node, Map<String, Usage> report, Function<String, Limits> limitsFor, long nowNanos) {
    Map<String, Integer> tunnels = new HashMap<>();
    report.forEach((user, u) -> {
      if (u.tunnels() > 0) {
        tunnels.put(user, u.tunnels());
      }
      if (u.requests() > 0 || u.bytes() > 0) {
        String name = user.equals(ANONYMOUS) ? null : user;
        UserState s = state(name, limitsFor.apply(name), nowNanos);
        s.requests.charge(u.requests(), nowNanos);
        s.bytes.charge(u.bytes(), nowNanos);
      }
    });
    remote.put(node, new Remote(tunnels, nowNanos));
  }

  /** Forgets nodes not heard from since {@code cutoffNanos} (gone: their tunnel slots are free). Returns them. */
  public java.util.List<String> forgetSilent(long cutoffNanos) {
    java.util.List<String> gone = new java.util.ArrayList<>();
    remote.forEach((node, r) -> {
      if (r.heardNanos() - cutoffNanos < 0) {
        remote.remove(node, r);
        gone.add(node);
      }
    });
    return gone;
  }

  /** Forgets a node at once (it left the cluster). */
  public void forget(String node) {
    remote.remove(node);
  }

  /** Tunnels {@code user} holds on other nodes, as last reported. */
  public int remoteTunnels(String userKey) {
    int n = 0;
    for (Remote r : remote.values()) {
      n += r.tunnels().getOrDefault(userKey, 0);
    }
    return n;
  }
}
