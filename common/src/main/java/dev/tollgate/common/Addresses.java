package dev.tollgate.common;

/** Every event-bus address, in one place. The event bus carries control only, never bytes. */
public final class Addresses {
  /**
   * Cluster-wide: published with a whole policy version (version, who, at, policy, node) when a
   * node accepted it; every other node adopts it.
   */
  public static final String POLICY_CHANGED = "tollgate.policy.changed";
  /** Node-local: published with {@code {"version": N}} once a new policy is in force on this node. */
  public static final String POLICY_APPLIED = "tollgate.policy.applied";
  /**
   * Per node ({@link #of}): request {@code {}} or {@code {"user": NAME}}; reply
   * {@code {"node":…, "tunnels":[…]}}.
   */
  public static final String TUNNELS_LIST = "tollgate.tunnels.list";
  /**
   * Per node ({@link #of}): request {@code {"id":…}} or {@code {"user":…}}; reply
   * {@code {"killed": N}}.
   */
  public static final String TUNNELS_KILL = "tollgate.tunnels.kill";
  /** Per node ({@link #of}): request {@code {}}; reply: the node's status (name, addresses, uptime, policy version, state). */
  public static final String NODE_STATUS = "tollgate.node.status";
  /** Cluster-wide: each node's usage report for cluster-wide limits (see {@code UserLimiter}). */
  public static final String LIMITS_USAGE = "tollgate.limits.usage";

  /** Cluster-wide: {@code {"user": KEY, "at": epochMillis}}, an operator's reset of a user's quota usage. */
  public static final String USAGE_RESET = "tollgate.usage.reset";

  /** Node-local: request {@code {}}; reply {@code {"pem": "-----BEGIN CERTIFICATE-----..."}}, the interception CA. */
  public static final String MITM_CA = "tollgate.mitm.ca";

  /** Node-local: request {@code {}} (list) or {@code {"clear": true}}; reply the list or {@code {"cleared": N}}. */
  public static final String MITM_PASSTHROUGH = "tollgate.mitm.passthrough";

  /** The address of {@code address} on one node. */
  public static String of(String address, String node) {
    return address + "/" + node;
  }

  private Addresses() {}
}
