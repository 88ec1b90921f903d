package dev.tollgate.ingress.impl;

import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyEngine;
import dev.tollgate.common.policy.PolicyRequest;

/** Applies the policy decision to a request: a denial or a missing login becomes its failure. */
final class Decisions {
  private Decisions() {}

  /** Decides; throws the 403/407 failure unless the request may go on. */
  static Decision require(Policy policy, String method, String host, int port, String user) {
    Decision d = PolicyEngine.decide(new PolicyRequest(method, host, port, user), policy);
    switch (d.action()) {
      case AUTH_REQUIRED -> throw ProxyFailure.authRequired(policy.auth().realm());
      case DENY -> throw ProxyFailure.denied(d.reason());
      default -> {
        return d;
      }
    }
  }
}
