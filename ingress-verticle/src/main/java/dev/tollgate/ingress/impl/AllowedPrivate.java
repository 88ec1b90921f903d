package dev.tollgate.ingress.impl;

import dev.tollgate.common.Cidr;
import dev.tollgate.common.policy.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The networks exempt from the private-address refusal: the config's plus those of the policy in
 * force. Recomputed only when the policy changes, so a request pays one reference comparison.
 */
public final class AllowedPrivate implements Supplier<List<Cidr>> {
  private final List<Cidr> fromConfig;
  private final AtomicReference<Policy> policy;
  private volatile Policy seen;
  private volatile List<Cidr> combined = List.of();

  public AllowedPrivate(List<Cidr> fromConfig, AtomicReference<Policy> policy) {
    this.fromConfig = List.copyOf(fromConfig);
    this.policy = policy;
  }

  @Override
  public List<Cidr> get() {
    Policy now = policy.get();
    if (now != seen) {
      List<Cidr> all = new ArrayList<>(fromConfig);
      all.addAll(now.allowPrivate());
      combined = List.copyOf(all);
      seen = now;
    }
    return combined;
  }
}
