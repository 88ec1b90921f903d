package dev.tollgate.common.policy;

import java.util.Locale;

/** What a rule, or the policy's default, does with a request; written in lower case in the document. */
public enum Action {
  /** Let the request through: a CONNECT is tunnelled, plain HTTP is forwarded. */
  ALLOW,
  /** Refuse the request (403). */
  DENY,
  /** Open a CONNECT's TLS to inspect it; plain HTTP is forwarded, as it is visible anyway. */
  INTERCEPT,
  /**
   * Let a CONNECT through as an opaque tunnel that is never intercepted (pinned certificates,
   * banking); plain HTTP is forwarded. Today it decides like {@link #ALLOW}; it says that a later,
   * broader intercept rule must not catch these hosts.
   */
  TUNNEL;

  /** The document form: {@code allow}, {@code deny}, {@code intercept}, {@code tunnel}. */
  public String json() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The action written as {@code text} (lower case), or {@code null} when there is none. */
  public static Action fromJson(String text) {
    for (Action a : values()) {
      if (a.json().equals(text)) {
        return a;
      }
    }
    return null;
  }
}
