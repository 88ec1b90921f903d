package dev.tollgate.common.policy;

import java.util.Objects;

/**
 * The outcome of {@link PolicyEngine#decide}: what to do, which rule said so, and why in a few words
 * that are safe to send to the client ({@code X-Tollgate-Reason}) and to log.
 *
 * @param action what the proxy does
 * @param ruleId the id of the rule that matched, or {@code null} for the default and for 407
 * @param reason e.g. {@code rule block-ads}, {@code default deny}, {@code proxy authentication required}
 */
public record Decision(Verdict action, String ruleId, String reason) {

  public Decision {
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(reason, "reason");
  }

  /** Whether the request goes on (tunnelled, forwarded or intercepted). */
  public boolean allowed() {
    return action == Verdict.ALLOW_TUNNEL || action == Verdict.ALLOW_FORWARD || action == Verdict.INTERCEPT;
  }
}
