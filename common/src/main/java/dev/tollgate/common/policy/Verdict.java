package dev.tollgate.common.policy;

/** What the proxy does with one request, as decided by {@link PolicyEngine#decide}. */
public enum Verdict {
  /** Open the CONNECT tunnel and relay bytes unseen. */
  ALLOW_TUNNEL,
  /** Forward the plain HTTP request. */
  ALLOW_FORWARD,
  /** Terminate the CONNECT's TLS with a minted certificate and inspect the traffic. */
  INTERCEPT,
  /** Refuse with 403. */
  DENY,
  /** Refuse with 407 and a Basic challenge: the policy needs credentials and none were verified. */
  AUTH_REQUIRED
}
