package dev.tollgate.common.quota;

import io.vertx.core.json.JsonObject;

/**
 * What was spent in one period: bytes (both ways), forwarded requests, and tunnel open time.
 *
 * @param bytes bytes moved both ways through tunnels and forwarded bodies
 * @param requests forwarded requests (including those inside intercepted tunnels)
 * @param tunnelMillis milliseconds of tunnels held open
 */
public record Counts(long bytes, long requests, long tunnelMillis) {
  public static final Counts ZERO = new Counts(0, 0, 0);

  public Counts plus(Counts o) {
    return new Counts(bytes + o.bytes, requests + o.requests, tunnelMillis + o.tunnelMillis);
  }

  public boolean isZero() {
    return bytes == 0 && requests == 0 && tunnelMillis == 0;
  }

  /** Whether every count is at least the other's (counts only grow within a period). */
  public boolean covers(Counts o) {
    return bytes >= o.bytes && requests >= o.requests && tunnelMillis >= o.tunnelMillis;
  }

  /** The API form: tunnel time in whole seconds. */
  public JsonObject toJson() {
    return new JsonObject().put("bytes", bytes).put("requests", requests).put("tunnelSeconds", tunnelMillis / 1000);
  }
}
