package dev.tollgate.common.limits;

import io.vertx.core.json.JsonObject;

/**
 * What one user holds and spent on one node since its last report: the cluster's accounting unit.
 *
 * @param tunnels tunnels open now (a level, not a delta)
 * @param requests request tokens taken since the last report
 * @param bytes bytes moved since the last report
 */
public record Usage(int tunnels, long requests, long bytes) {
  public boolean isZero() {
    return tunnels == 0 && requests == 0 && bytes == 0;
  }

  public JsonObject toJson() {
    return new JsonObject().put("t", tunnels).put("r", requests).put("b", bytes);
  }

  public static Usage fromJson(JsonObject json) {
    return new Usage(json.getInteger("t", 0), json.getLong("r", 0L), json.getLong("b", 0L));
  }
}
