package dev.tollgate.tunnel;

import dev.tollgate.common.limits.TokenBucket;

/**
 * Who a tunnel belongs to and what it may spend.
 *
 * @param user the authenticated user, or null
 * @param bytes the user's shared byte bucket (shaping), or null when unlimited
 * @param release called once when the tunnel has ended (gives back its tunnel slot)
 * @param decidedByPolicy whether the tunnel came from a proxy request the policy decided (a
 *     CONNECT, an upgrade): only those are decided again by {@code enforceOnOpenTunnels}; a
 *     terminating tunnel service's are not proxy requests
 */
public record TunnelOwner(String user, TokenBucket bytes, Runnable release, boolean decidedByPolicy) {
  /** No user, no limits. */
  public static final TunnelOwner NONE = new TunnelOwner(null, null, () -> {});

  /** The owner of a tunnel the policy decided. */
  public TunnelOwner(String user, TokenBucket bytes, Runnable release) {
    this(user, bytes, release, true);
  }
}
