package dev.tollgate.ingress.impl;

import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.quota.Denial;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Limits;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyEngine;
import dev.tollgate.common.policy.PolicyRequest;

/**
 * Applies the policy to a request: a denial or a missing login becomes its failure, and a user
 * over their request rate gets 429.
 */
final class Decisions {
  private Decisions() {}

  /** Spends one request token of {@code user}; throws 429 with {@code Retry-After} when there is none. */
  static Limits rate(UserLimiter limiter, Policy policy, String user) {
    Limits limits = policy.limitsFor(user);
    long waitNanos = limiter.request(user, limits, System.nanoTime());
    if (waitNanos > 0) {
      throw ProxyFailure.limited(
          "request rate limit: " + limits.requestsPerSecond() + "/s", (waitNanos + 999_999_999L) / 1_000_000_000L);
    }
    return limits;
  }

  /**
   * Checks {@code user}'s quotas before a forwarded request ({@code request}: counted when allowed)
   * or a new tunnel; throws 429 naming the quota, with {@code Retry-After} to the period's end.
   */
  static void quota(UserLimiter limiter, Policy policy, String user, boolean request) {
    Denial d = limiter.quotas().check(UserLimiter.key(user), policy.quotaFor(user), request);
    if (d != null) {
      throw ProxyFailure.limited(d.reason(), d.retryAfterSeconds());
    }
  }

  /** Decides; throws the 403/407 failure unless the request may go on. */
  static Decision require(Policy policy, String method, String host, int port, String user, AccessRecord record) {
    Decision d = PolicyEngine.decide(new PolicyRequest(method, host, port, user), policy);
    record.decision(d);
    switch (d.action()) {
      case AUTH_REQUIRED -> throw ProxyFailure.authRequired(policy.auth().realm());
      case DENY -> throw ProxyFailure.denied(d.reason());
      default -> {
        return d;
      }
    }
  }
}
