package dev.tollgate.common.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tollgate.common.AddressClassifier;
import dev.tollgate.common.IpLiterals;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The index must give exactly what trying every rule in order gives. Random policies over a small
 * vocabulary (so that buckets overlap) are checked against a plain linear scan written here from
 * the rules' definitions.
 */
class RuleIndexTest {

  private static final String[] LABELS = {"a", "b", "www", "api", "cdn"};
  private static final String[] DOMAINS = {"example.com", "example.org", "test", "com"};
  private static final String[] USERS = {"u1", "u2", "u3", "u4"};
  private static final String[] HOST_TARGETS = {"10.0.0.1", "0x0a000001", "10.1", "[::ffff:10.0.0.2]", "10.0.1.7", "192.168.0.1", "[fd00::5]", "::1"};
  private static final String[] NETWORKS = {"10.0.0.0/24", "10.0.0.1", "0.0.0.0/0", "fd00::/8", "[::1]", "192.168.0.0/16"};
  private static final String[] METHODS = {"CONNECT", "GET", "POST"};

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void agreesWithALinearScan(long seed) {
    Random random = new Random(seed);
    Policy policy = Policy.fromJson(randomPolicy(random, 50 + random.nextInt(300)));
    for (int n = 0; n < 3000; n++) {
      PolicyRequest r =
          new PolicyRequest(pick(random, METHODS), randomTarget(random), 440 + random.nextInt(8), random.nextInt(5) == 0 ? null : pick(random, USERS));
      Decision d = PolicyEngine.decide(r, policy);
      int expected = linearFirstMatch(policy, r);
      assertEquals(expected < 0 ? null : policy.rules().get(expected).id(), d.ruleId(), r::toString);
    }
  }

  private static JsonObject randomPolicy(Random random, int count) {
    JsonObject users = new JsonObject();
    for (String u : USERS) {
      users.put(u, Fixtures.HASH);
    }
    JsonObject groups = new JsonObject().put("g1", new JsonArray(List.of("u1", "u2"))).put("g2", new JsonArray(List.of("u3")));
    JsonArray rules = new JsonArray();
    for (int i = 0; i < count; i++) {
      JsonObject rule = new JsonObject().put("id", "r" + i).put("action", pick(random, new String[] {"allow", "deny", "intercept", "tunnel"}));
      if (random.nextInt(10) > 0) {
        JsonArray hosts = new JsonArray();
        for (int h = 0, k = 1 + random.nextInt(2); h < k; h++) {
          hosts.add(randomHostPattern(random));
        }
        rule.put("hosts", hosts);
      }
      if (random.nextInt(3) == 0) {
        int from = 440 + random.nextInt(8);
        rule.put("ports", new JsonArray().add(from).add(from + "-" + (from + random.nextInt(3))));
      }
      if (random.nextInt(6) == 0) {
        rule.put("users", new JsonArray().add(pick(random, USERS)));
      }
      if (random.nextInt(6) == 0) {
        rule.put("groups", new JsonArray().add(random.nextBoolean() ? "g1" : "g2"));
      }
      if (random.nextInt(5) == 0) {
        rule.put("methods", new JsonArray().add(pick(random, METHODS)));
      }
      rules.add(rule);
    }
    return new JsonObject()
        .put("auth", new JsonObject().put("users", users).put("groups", groups))
        .put("rules", rules)
        .put("default", random.nextBoolean() ? "allow" : "deny");
  }

  private static String randomHostPattern(Random random) {
    return switch (random.nextInt(4)) {
      case 0 -> randomName(random, 0);
      case 1 -> "*." + randomName(random, 0);
      case 2 -> pick(random, NETWORKS);
      default -> randomName(random, 1);
    };
  }

  private static String randomTarget(Random random) {
    if (random.nextInt(4) == 0) {
      return pick(random, HOST_TARGETS);
    }
    String name = randomName(random, random.nextInt(3));
    return random.nextBoolean() ? name.toUpperCase(Locale.ROOT) + "." : name;
  }

  private static String randomName(Random random, int extraLabels) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < extraLabels + random.nextInt(2); i++) {
      b.append(pick(random, LABELS)).append('.');
    }
    return b.append(pick(random, DOMAINS)).toString();
  }

  private static String pick(Random random, String[] from) {
    return from[random.nextInt(from.length)];
  }

  /** The definition: the first rule, in order, whose present matchers all match. */
  private static int linearFirstMatch(Policy policy, PolicyRequest r) {
    String host = r.host().toLowerCase(Locale.ROOT);
    host = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    InetAddress address = IpLiterals.parse(host);
    address = address == null ? null : AddressClassifier.unmapped(address);
    for (int i = 0; i < policy.rules().size(); i++) {
      Rule rule = policy.rules().get(i);
      boolean hostOk = rule.hosts().isEmpty();
      for (HostPattern p : rule.hosts()) {
        hostOk |= switch (p.kind()) {
          case EXACT -> address == null && host.equals(p.name());
          case SUFFIX -> address == null && host.endsWith("." + p.name());
          case NETWORK -> address != null && p.network().contains(address);
        };
      }
      boolean portOk = rule.ports().isEmpty() || rule.ports().stream().anyMatch(pr -> pr.contains(r.port()));
      boolean userOk = rule.users().isEmpty() || (r.user() != null && rule.users().contains(r.user()));
      boolean groupOk = rule.groups().isEmpty() || r.user() != null && rule.groups().stream().anyMatch(g -> policy.auth().groups().get(g).contains(r.user()));
      boolean methodOk = rule.methods().isEmpty() || rule.methods().contains(r.method());
      if (hostOk && portOk && userOk && groupOk && methodOk) {
        return i;
      }
    }
    return -1;
  }
}
