package dev.tollgate.common.policy;

import java.util.List;

/**
 * Decides requests against a policy. Pure: the same request and policy always give the same
 * decision; nothing is looked up (no DNS, no clock, no state).
 */
public final class PolicyEngine {

  private static final Decision AUTH_REQUIRED = new Decision(Verdict.AUTH_REQUIRED, null, "proxy authentication required");
  private static final Decision NO_LISTENER_RULE_FORWARD = new Decision(Verdict.ALLOW_FORWARD, null, "no listener rule");
  private static final Decision NO_LISTENER_RULE_TUNNEL = new Decision(Verdict.ALLOW_TUNNEL, null, "no listener rule");

  private PolicyEngine() {}

  /**
   * Decides {@code request} under {@code policy}. A request on a terminating listener is decided
   * by the rules naming that listener only (below); one on a proxy listener in this order:
   *
   * <ol>
   *   <li>when {@code auth.required} and the request carries no verified user: {@link Verdict#AUTH_REQUIRED};
   *   <li>the first rule, in document order, whose matchers all match;
   *   <li>else the policy's default.
   * </ol>
   *
   * <p>The action maps to a verdict by the request kind: {@code allow} and {@code tunnel} give
   * {@link Verdict#ALLOW_TUNNEL} for CONNECT and {@link Verdict#ALLOW_FORWARD} otherwise;
   * {@code intercept} gives {@link Verdict#INTERCEPT} for CONNECT and {@link Verdict#ALLOW_FORWARD}
   * otherwise, plain HTTP being visible already; {@code deny} gives {@link Verdict#DENY}.
   *
   * <p>The target host is compared case-insensitively and without a trailing dot; IP literals in
   * any encoding ({@code 0x7f000001}, {@code 127.1}, {@code [::ffff:127.0.0.1]}) are compared as
   * the address they stand for, so they cannot dodge an IP or CIDR rule.
   */
  public static Decision decide(PolicyRequest request, Policy policy) {
    if (request.listener() != null) {
      return decideTerminating(request, policy);
    }
    if (policy.auth().required() && request.user() == null) {
      return AUTH_REQUIRED;
    }
    int i = policy.firstMatch(request, Target.of(request.host()));
    return policy.decision(i, request.isConnect());
  }

  /**
   * Decides a request on a terminating listener: the first rule naming the listener whose other
   * matchers (hosts, ports, methods, clients) match, else allowed. Neither {@code auth.required}
   * nor {@code default} apply: a listener serves a site's visitors, and its routes already say
   * what it serves.
   */
  private static Decision decideTerminating(PolicyRequest request, Policy policy) {
    int i = policy.firstMatch(request, Target.of(request.host()));
    if (i < 0) {
      return request.isConnect() ? NO_LISTENER_RULE_TUNNEL : NO_LISTENER_RULE_FORWARD;
    }
    return policy.decision(i, request.isConnect());
  }

  /**
   * Every decision the rules and the default can give, computed once per policy so that deciding
   * allocates nothing: entry {@code 2 * i + (connect ? 1 : 0)} for rule {@code i}, the last two for
   * the default.
   */
  static Decision[] decisions(List<Rule> rules, Action defaultAction) {
    Decision[] out = new Decision[2 * rules.size() + 2];
    for (int i = 0; i < rules.size(); i++) {
      Rule r = rules.get(i);
      out[2 * i] = new Decision(verdict(r.action(), false), r.id(), "rule " + r.id());
      out[2 * i + 1] = new Decision(verdict(r.action(), true), r.id(), "rule " + r.id());
    }
    String reason = "default " + defaultAction.json();
    out[2 * rules.size()] = new Decision(verdict(defaultAction, false), null, reason);
    out[2 * rules.size() + 1] = new Decision(verdict(defaultAction, true), null, reason);
    return out;
  }

  /** The verdict {@code action} gives a CONNECT ({@code connect}) or a request to forward. */
  public static Verdict verdict(Action action, boolean connect) {
    return switch (action) {
      case DENY -> Verdict.DENY;
      case ALLOW, TUNNEL -> connect ? Verdict.ALLOW_TUNNEL : Verdict.ALLOW_FORWARD;
      case INTERCEPT -> connect ? Verdict.INTERCEPT : Verdict.ALLOW_FORWARD;
    };
  }
}
