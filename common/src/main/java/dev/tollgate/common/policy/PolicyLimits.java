package dev.tollgate.common.policy;

import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The {@code limits} section: defaults for everyone, overrides per group and per user.
 *
 * @param defaults what applies to a user with no override (and to unauthenticated clients)
 * @param users overrides by user name
 * @param groups overrides by group name
 */
public record PolicyLimits(
    Limits defaults,
    Map<String, LimitOverride> users,
    Map<String, LimitOverride> groups,
    Integer maxTunnelsPerNode,
    Integer maxConnectionsPerClientAddress) {

  /** Unlimited, no overrides. */
  public static final PolicyLimits NONE = new PolicyLimits(Limits.UNLIMITED, Map.of(), Map.of());

  private static final Set<String> KEYS = Set.of("default", "users", "groups", "maxTunnelsPerNode", "maxConnectionsPerClientAddress");

  /** Per-user limits only; the node-wide caps are left to the node's config. */
  public PolicyLimits(Limits defaults, Map<String, LimitOverride> users, Map<String, LimitOverride> groups) {
    this(defaults, users, groups, null, null);
  }

  public PolicyLimits {
    Objects.requireNonNull(defaults, "defaults");
    users = Collections.unmodifiableMap(new LinkedHashMap<>(users));
    groups = Collections.unmodifiableMap(new LinkedHashMap<>(groups));
  }

  /**
   * The limits of {@code user}, member of {@code userGroups}: the defaults, then the group
   * overrides, then the user's own override, field by field. When the user is in several groups
   * that set the same field, the most generous value wins (see {@link LimitOverride#mostGenerous}):
   * membership should only ever add allowance, so adding someone to a group never tightens them.
   */
  public Limits resolve(String user, List<String> userGroups) {
    LimitOverride fromGroups = null;
    for (String g : userGroups) {
      LimitOverride o = groups.get(g);
      if (o != null) {
        fromGroups = fromGroups == null ? o : fromGroups.mostGenerous(o);
      }
    }
    Limits limits = fromGroups == null ? defaults : fromGroups.over(defaults);
    LimitOverride own = user == null ? null : users.get(user);
    return own == null ? limits : own.over(limits);
  }

  /** The document form. */
  public JsonObject toJson() {
    JsonObject u = new JsonObject();
    users.forEach((name, o) -> u.put(name, o.toJson()));
    JsonObject g = new JsonObject();
    groups.forEach((name, o) -> g.put(name, o.toJson()));
    JsonObject o = new JsonObject().put("default", defaults.toJson()).put("users", u).put("groups", g);
    if (maxTunnelsPerNode != null) o.put("maxTunnelsPerNode", maxTunnelsPerNode);
    if (maxConnectionsPerClientAddress != null) o.put("maxConnectionsPerClientAddress", maxConnectionsPerClientAddress);
    return o;
  }

  /** Reads the {@code limits} section; user and group names are checked against {@code auth}. */
  static PolicyLimits read(Object value, Auth auth) {
    JsonObject o = Json.section(value, "limits", KEYS);
    Limits defaults = LimitOverride.read(o.getValue("default"), "limits.default").over(Limits.UNLIMITED);
    Map<String, LimitOverride> users = overrides(o.getValue("users"), "limits.users", auth::mayBeUser, "unknown user; " + Auth.USERS_LISTED);
    Map<String, LimitOverride> groups = overrides(o.getValue("groups"), "limits.groups", auth.groups()::containsKey, "unknown group; " + Auth.GROUPS_LISTED);
    // Node-wide caps: when set, they replace the config's limits.maxTunnelsPerNode and
    // limits.maxConnectionsPerClientAddress on every node (0: no cap).
    return new PolicyLimits(defaults, users, groups, cap(o, "maxTunnelsPerNode"), cap(o, "maxConnectionsPerClientAddress"));
  }

  private static Integer cap(JsonObject o, String key) {
    Object v = o.getValue(key);
    return v == null ? null : (int) Json.whole(v, Json.at("limits", key), 0, Integer.MAX_VALUE);
  }

  private static Map<String, LimitOverride> overrides(Object value, String path, Predicate<String> known, String unknown) {
    return Json.named(value, path, known, unknown, LimitOverride::read);
  }
}
