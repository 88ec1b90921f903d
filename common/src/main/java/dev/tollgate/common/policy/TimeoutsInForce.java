package dev.tollgate.common.policy;

import dev.tollgate.common.NodeConfig;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The timeouts that apply now: the policy's where it sets them, else the node config's.
 * Recomputed only when the policy changes, so a caller pays one reference comparison.
 */
public final class TimeoutsInForce implements Supplier<NodeConfig.Timeouts> {
  private final NodeConfig.Timeouts fromConfig;
  private final AtomicReference<Policy> policy;
  private volatile Policy seen;
  private volatile NodeConfig.Timeouts current;

  public TimeoutsInForce(NodeConfig.Timeouts fromConfig, AtomicReference<Policy> policy) {
    this.fromConfig = fromConfig;
    this.policy = policy;
    this.current = fromConfig;
  }

  @Override
  public NodeConfig.Timeouts get() {
    Policy now = policy.get();
    if (now != seen) {
      current = now.timeouts().over(fromConfig);
      seen = now;
    }
    return current;
  }
}
