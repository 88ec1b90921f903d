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
 * The {@code quotas} section: a default quota, overrides per group and per user, resolved as
 * {@link PolicyLimits} are (default, then the most generous of the user's groups, then the user's own).
 *
 * @param defaults what applies to a user with no override (and to unauthenticated clients, who share one allowance)
 * @param users overrides by user name
 * @param groups overrides by group name
 */
public record PolicyQuotas(Quota defaults, Map<String, Quota> users, Map<String, Quota> groups) {

  /** No quotas at all. */
  public static final PolicyQuotas NONE = new PolicyQuotas(Quota.UNLIMITED, Map.of(), Map.of());

  private static final Set<String> KEYS = Set.of("default", "users", "groups");

  public PolicyQuotas {
    Objects.requireNonNull(defaults, "defaults");
    users = Collections.unmodifiableMap(new LinkedHashMap<>(users));
    groups = Collections.unmodifiableMap(new LinkedHashMap<>(groups));
  }

  /** The quota of {@code user} (null: unauthenticated), member of {@code userGroups}; every field set. */
  public Quota resolve(String user, List<String> userGroups) {
    Quota fromGroups = null;
    for (String g : userGroups) {
      Quota q = groups.get(g);
      if (q != null) {
        fromGroups = fromGroups == null ? q : fromGroups.mostGenerous(q);
      }
    }
    Quota quota = fromGroups == null ? defaults : fromGroups.over(defaults);
    Quota own = user == null ? null : users.get(user);
    return own == null ? quota : own.over(quota);
  }

  /** Whether any quota is set anywhere (else nothing needs counting against one). */
  public boolean any() {
    return defaults.limitsAnything() || users.values().stream().anyMatch(Quota::limitsAnything) || groups.values().stream().anyMatch(Quota::limitsAnything);
  }

  /** The document form. */
  public JsonObject toJson() {
    JsonObject u = new JsonObject();
    users.forEach((name, q) -> u.put(name, q.toJson()));
    JsonObject g = new JsonObject();
    groups.forEach((name, q) -> g.put(name, q.toJson()));
    return new JsonObject().put("default", defaults.toJson()).put("users", u).put("groups", g);
  }

  /** Reads the {@code quotas} section; user and group names are checked against {@code auth}. */
  static PolicyQuotas read(Object value, Auth auth) {
    JsonObject o = Json.section(value, "quotas", KEYS);
    Quota defaults = Quota.read(o.getValue("default"), "quotas.default").over(Quota.UNLIMITED);
    return new PolicyQuotas(
        defaults,
        overrides(o.getValue("users"), "quotas.users", auth::mayBeUser, "unknown user; " + Auth.USERS_LISTED),
        overrides(o.getValue("groups"), "quotas.groups", auth.groups()::containsKey, "unknown group; " + Auth.GROUPS_LISTED));
  }

  private static Map<String, Quota> overrides(Object value, String path, Predicate<String> known, String unknown) {
    return Json.named(value, path, known, unknown, Quota::read);
  }
}
