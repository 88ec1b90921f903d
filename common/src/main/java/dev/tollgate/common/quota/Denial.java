package dev.tollgate.common.quota;

/**
 * A quota a user has used up.
 *
 * @param quota the quota's name in the policy, e.g. {@code bytes.perDay}
 * @param limit its value
 * @param used what was spent in the period (cluster-wide, as this node knows it)
 * @param retryAfterSeconds seconds until the period ends and the quota comes back
 */
public record Denial(String quota, long limit, long used, long retryAfterSeconds) {

  /** The reason given to the client and the log. */
  public String reason() {
    return "quota " + quota + " exceeded: " + used + " of " + limit + " used";
  }

  /** {@code day} or {@code month}. */
  public String period() {
    return quota.endsWith("perDay") ? "day" : "month";
  }

  /** {@code bytes}, {@code requests} or {@code tunnelSeconds}. */
  public String kind() {
    return quota.substring(0, quota.indexOf('.'));
  }
}
