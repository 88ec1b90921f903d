package dev.tollgate.tunnel;

import dev.tollgate.common.limits.TokenBucket;

/**
 * Who a tunnel belongs to and what it may spend.
 *
 * @param user the authenticated user, or null
 * @param bytes the user's shared byte bucket (shaping), or null when unlimited
 * @param release called once when the tunnel has ended (gives back its tunnel slot)
 */
public record TunnelOwner(String user, TokenBucket bytes, Runnable release) {
  /** No user, no limits. */
  public static final TunnelOwner NONE = new TunnelOwner(null, null, () -> {});
}
