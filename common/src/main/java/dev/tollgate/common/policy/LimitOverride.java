package dev.tollgate.common.policy;

import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Some fields of {@link Limits} set for a group or a user; {@code null} fields are not set and leave
 * the value below them in force. 0 means unlimited, as in {@link Limits}.
 */
public record LimitOverride(Integer maxTunnels, Integer requestsPerSecond, Integer burst, Long bytesPerSecond) {

  /** Nothing set. */
  public static final LimitOverride NONE = new LimitOverride(null, null, null, null);

  private static final Set<String> KEYS = Set.of("maxTunnels", "requestsPerSecond", "burst", "bytesPerSecond");

  public LimitOverride {
    if (negative(maxTunnels) || negative(requestsPerSecond) || negative(burst) || (bytesPerSecond != null && bytesPerSecond < 0)) {
      throw new IllegalArgumentException("limits are 0 (unlimited) or positive");
    }
  }

  /** {@code base} with the fields set here replaced. */
  public Limits over(Limits base) {
    return new Limits(
        maxTunnels != null ? maxTunnels : base.maxTunnels(),
        requestsPerSecond != null ? requestsPerSecond : base.requestsPerSecond(),
        burst != null ? burst : base.burst(),
        bytesPerSecond != null ? bytesPerSecond : base.bytesPerSecond());
  }

  /**
   * Field by field, the more generous of the two: unlimited (0) beats any number, a larger number
   * beats a smaller one, and a field set on one side only is taken from that side.
   */
  public LimitOverride mostGenerous(LimitOverride other) {
    return new LimitOverride(
        generous(maxTunnels, other.maxTunnels),
        generous(requestsPerSecond, other.requestsPerSecond),
        generous(burst, other.burst),
        generous(bytesPerSecond, other.bytesPerSecond));
  }

  /** The document form: only the fields that are set. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject();
    if (maxTunnels != null) o.put("maxTunnels", maxTunnels);
    if (requestsPerSecond != null) o.put("requestsPerSecond", requestsPerSecond);
    if (burst != null) o.put("burst", burst);
    if (bytesPerSecond != null) o.put("bytesPerSecond", bytesPerSecond);
    return o;
  }

  /** Reads the limits object at {@code path}. */
  static LimitOverride read(Object value, String path) {
    JsonObject o = Json.section(value, path, KEYS);
    return new LimitOverride(
        intField(o, "maxTunnels", path),
        intField(o, "requestsPerSecond", path),
        intField(o, "burst", path),
        o.getValue("bytesPerSecond") == null ? null : Json.whole(o.getValue("bytesPerSecond"), Json.at(path, "bytesPerSecond"), 0, Long.MAX_VALUE));
  }

  private static Integer intField(JsonObject o, String key, String path) {
    Object v = o.getValue(key);
    return v == null ? null : (int) Json.whole(v, Json.at(path, key), 0, Integer.MAX_VALUE);
  }

  private static boolean negative(Integer v) {
    return v != null && v < 0;
  }

  private static <T extends Number & Comparable<T>> T generous(T a, T b) {
    if (a == null || b == null) {
      return a == null ? b : a;
    }
    if (a.longValue() == 0 || b.longValue() == 0) {
      return a.longValue() == 0 ? a : b;
    }
    return a.compareTo(b) >= 0 ? a : b;
  }
}
