package dev.tollgate.common;

/** Every event-bus address, in one place. The event bus carries control only, never bytes. */
public final class Addresses {
  /** Published with {@code {"version": N}} once a new policy is in force on this node. */
  public static final String POLICY_CHANGED = "tollgate.policy.changed";
  /** Request: {@code {}}; reply: {@code {"node":…, "tunnels":[…]}}. */
  public static final String TUNNELS_LIST = "tollgate.tunnels.list";
  /** Request: {@code {"id":…}}; reply: {@code {"killed": true|false}}. */
  public static final String TUNNELS_KILL = "tollgate.tunnels.kill";

  private Addresses() {}
}
