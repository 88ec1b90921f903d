package dev.tollgate.common.policy;

import dev.tollgate.common.Cidr;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads the top level of a policy document; each section reads itself. Unknown keys are errors. */
final class PolicyReader {

  private static final Set<String> KEYS =
      Set.of("version", "auth", "rules", "default", "network", "limits", "timeouts", "enforceOnOpenTunnels", "quotas", "rewrite");
  private static final Set<String> NETWORK_KEYS = Set.of("allowPrivate");

  private PolicyReader() {}

  static Policy read(JsonObject root) {
    if (root == null) {
      throw new PolicyException("", "no policy document");
    }
    Json.checkKeys(root, "", KEYS);
    int version = root.getValue("version") == null ? 0 : (int) Json.whole(root.getValue("version"), "version", 0, Integer.MAX_VALUE);
    Auth auth = Auth.read(root.getValue("auth"));
    List<Rule> rules = Json.list(root, "rules", "", (v, p) -> Rule.read(v, p, auth));
    checkUniqueIds(rules);
    return new Policy(
        version,
        auth,
        rules,
        defaultAction(root.getValue("default")),
        allowPrivate(root.getValue("network")),
        PolicyLimits.read(root.getValue("limits"), auth),
        PolicyTimeouts.read(root.getValue("timeouts")),
        Json.bool(root.getValue("enforceOnOpenTunnels"), "enforceOnOpenTunnels", false),
        PolicyQuotas.read(root.getValue("quotas"), auth),
        Json.list(root, "rewrite", "", RewriteRule::read));
  }

  private static void checkUniqueIds(List<Rule> rules) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < rules.size(); i++) {
      Integer first = seen.putIfAbsent(rules.get(i).id(), i);
      if (first != null) {
        throw new PolicyException("rules[" + i + "].id", "duplicate id '" + rules.get(i).id() + "', first used by rules[" + first + "]");
      }
    }
  }

  private static Action defaultAction(Object value) {
    if (value == null) {
      return Action.ALLOW;
    }
    Action a = Action.fromJson(Json.string(value, "default"));
    if (a != Action.ALLOW && a != Action.DENY) {
      throw new PolicyException("default", "expected allow or deny, got " + Json.describe(value));
    }
    return a;
  }

  private static List<Cidr> allowPrivate(Object value) {
    JsonObject network = Json.section(value, "network", NETWORK_KEYS);
    return Json.list(network, "allowPrivate", "network", (v, p) -> {
      try {
        return Cidr.parse(Json.string(v, p));
      } catch (IllegalArgumentException e) {
        throw new PolicyException(p, e.getMessage());
      }
    });
  }
}
