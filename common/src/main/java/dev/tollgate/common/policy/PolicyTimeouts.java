package dev.tollgate.common.policy;

import dev.tollgate.common.ConfigException;
import dev.tollgate.common.Durations;
import dev.tollgate.common.NodeConfig;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Set;

/**
 * The {@code timeouts} section: each field, when set, replaces the node configuration's value of
 * the same name (see {@link NodeConfig.Timeouts}); {@code null} leaves the node's value in force.
 *
 * @param connect upstream connect timeout, or {@code null}
 * @param idle idle timeout of tunnels and kept-alive connections, or {@code null}
 * @param maxLifetime longest life of a tunnel, or {@code null}
 * @param header time a client has to send its request head, or {@code null}
 */
public record PolicyTimeouts(Duration connect, Duration idle, Duration maxLifetime, Duration header) {

  /** Nothing set: the node's timeouts apply. */
  public static final PolicyTimeouts NONE = new PolicyTimeouts(null, null, null, null);

  private static final Set<String> KEYS = Set.of("connect", "idle", "maxLifetime", "header");

  /** {@code node} with the timeouts set here replaced. */
  public NodeConfig.Timeouts over(NodeConfig.Timeouts node) {
    return new NodeConfig.Timeouts(
        connect != null ? connect : node.connect(),
        idle != null ? idle : node.idle(),
        maxLifetime != null ? maxLifetime : node.maxLifetime(),
        header != null ? header : node.header());
  }

  /** The document form ({@code 10s}, {@code 5m}): only the fields that are set. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject();
    if (connect != null) o.put("connect", Durations.format(connect));
    if (idle != null) o.put("idle", Durations.format(idle));
    if (maxLifetime != null) o.put("maxLifetime", Durations.format(maxLifetime));
    if (header != null) o.put("header", Durations.format(header));
    return o;
  }

  /** Reads the {@code timeouts} section ({@code null} when absent). */
  static PolicyTimeouts read(Object value) {
    JsonObject o = Json.section(value, "timeouts", KEYS);
    return new PolicyTimeouts(duration(o, "connect"), duration(o, "idle"), duration(o, "maxLifetime"), duration(o, "header"));
  }

  private static Duration duration(JsonObject o, String key) {
    Object v = o.getValue(key);
    if (v == null) {
      return null;
    }
    String path = "timeouts." + key;
    try {
      return Durations.parse(path, v);
    } catch (ConfigException e) {
      // ConfigException's message starts with its key; the path is carried separately here.
      String message = e.getMessage();
      String prefix = e.key() + ": ";
      throw new PolicyException(e.key(), message.startsWith(prefix) ? message.substring(prefix.length()) : message);
    }
  }
}
