package dev.tollgate.common.policy;

import io.vertx.core.json.JsonObject;

/**
 * Effective limits for one user, as {@link Policy#limitsFor} resolves them. In every field 0 means
 * unlimited.
 *
 * @param maxTunnels open CONNECT tunnels at once
 * @param requestsPerSecond sustained request rate (token bucket refill)
 * @param burst requests allowed at once above the rate (token bucket size)
 * @param bytesPerSecond throughput, both directions together
 */
public record Limits(int maxTunnels, int requestsPerSecond, int burst, long bytesPerSecond) {

  /** No limit at all. */
  public static final Limits UNLIMITED = new Limits(0, 0, 0, 0);

  public Limits {
    if (maxTunnels < 0 || requestsPerSecond < 0 || burst < 0 || bytesPerSecond < 0) {
      throw new IllegalArgumentException("limits are 0 (unlimited) or positive");
    }
  }

  /** The document form, every field written. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("maxTunnels", maxTunnels)
        .put("requestsPerSecond", requestsPerSecond)
        .put("burst", burst)
        .put("bytesPerSecond", bytesPerSecond);
  }
}
