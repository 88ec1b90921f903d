package dev.tollgate.tunnel;

import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyEngine;
import dev.tollgate.common.policy.PolicyRequest;
import io.vertx.core.Context;
import io.vertx.core.net.NetSocket;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's live tunnels. Shared by every ingress event loop (thread-safe); the tunnel verticle
 * lists and kills through it and sweeps it for idle and lifetime timeouts.
 */
public final class TunnelRegistry {
  private final String node;
  private final Map<String, Tunnel> tunnels = new ConcurrentHashMap<>();
  private final AtomicLong sequence = new AtomicLong();

  public TunnelRegistry(String node) {
    this.node = node;
  }

  /**
   * Registers a tunnel between an established client and upstream and starts relaying. Call on
   * the client's event loop; the tunnel leaves the registry when it ends, and then calls the
   * owner's release.
   */
  public Tunnel open(Context context, String clientAddress, Target target, NetSocket client, NetSocket upstream, TunnelOwner owner) {
    String id = node + "-" + Long.toString(sequence.incrementAndGet(), 36);
    Tunnel tunnel = new Tunnel(id, node, clientAddress, target, context, client, upstream, owner);
    tunnels.put(id, tunnel);
    tunnel.closed().onComplete(ar -> tunnels.remove(id));
    tunnel.start();
    return tunnel;
  }

  /** Live tunnels, oldest first. */
  public List<TunnelInfo> list() {
    return tunnels.values().stream()
        .map(Tunnel::info)
        .sorted(Comparator.comparing(TunnelInfo::openedAt))
        .toList();
  }

  public int size() {
    return tunnels.size();
  }

  /** Closes the tunnel with this id; false when there is none. */
  public boolean kill(String id, String reason) {
    Tunnel t = tunnels.get(id);
    if (t == null) {
      return false;
    }
    t.close(reason);
    return true;
  }

  /** Closes every tunnel of {@code user} (null: unauthenticated clients'); returns how many. */
  public int killUser(String user, String reason) {
    int n = 0;
    for (Tunnel t : tunnels.values()) {
      if (java.util.Objects.equals(user, t.user())) {
        t.close(reason);
        n++;
      }
    }
    return n;
  }

  /** Closes {@code user}'s newest tunnels until at most {@code keep} remain on this node; returns how many it closed. */
  public int trimUser(String user, int keep, String reason) {
    List<Tunnel> mine = tunnels.values().stream()
        .filter(t -> user.equals(t.user()))
        .sorted(Comparator.comparingLong(Tunnel::openedNanos).reversed())
        .toList();
    int close = Math.max(0, mine.size() - keep);
    for (int i = 0; i < close; i++) {
      mine.get(i).close(reason);
    }
    return close;
  }

  /** Closes every tunnel (node shutdown). */
  public void closeAll(String reason) {
    tunnels.values().forEach(t -> t.close(reason));
  }

  /**
   * Closes the tunnels {@code policy} would now deny (decided as their CONNECT); returns how many.
   * Tunnels the policy never decided (a terminating tunnel service's) are left alone.
   */
  public int enforce(Policy policy) {
    int closed = 0;
    for (Tunnel t : tunnels.values()) {
      if (!t.decidedByPolicy()) {
        continue;
      }
      Decision d = PolicyEngine.decide(new PolicyRequest("CONNECT", t.target().host(), t.target().port(), t.user()), policy);
      if (!d.allowed()) {
        t.close("denied by policy v" + policy.version() + ": " + d.reason());
        closed++;
      }
    }
    return closed;
  }

  /**
   * Closes the tunnels idle for longer than {@code idle} or open for longer than {@code lifetime}
   * at {@code nowNanos}; returns how many it closed.
   */
  public int sweep(long nowNanos, Duration idle, Duration lifetime) {
    int closed = 0;
    for (Tunnel t : tunnels.values()) {
      if (nowNanos - t.openedNanos() > lifetime.toNanos()) {
        t.close("maximum lifetime reached");
        closed++;
      } else if (nowNanos - t.lastActivityNanos() > idle.toNanos()) {
        t.close("idle timeout");
        closed++;
      }
    }
    return closed;
  }
}
