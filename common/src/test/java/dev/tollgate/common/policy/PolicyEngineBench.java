package dev.tollgate.common.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A rough single-thread throughput figure for {@link PolicyEngine#decide} with 10,000 host rules
 * (half exact names, half suffixes) plus a few CIDR and host-less rules, by kind of target. Not a
 * JMH benchmark and never an assertion: it prints decisions per second.
 *
 * <p>Run: {@code mvn -o test -pl common -Dtest=PolicyEngineBench -Dtollgate.bench=true}, or
 * {@code main} with the test class path.
 */
class PolicyEngineBench {

  static final int RULES = 10_000;

  @Test
  @EnabledIfSystemProperty(named = "tollgate.bench", matches = "true")
  void decisionsPerSecond() {
    main(new String[0]);
  }

  public static void main(String[] args) {
    Policy policy = Policy.fromJson(policyJson());
    Random random = new Random(42);
    String[] kinds = {"exact hit", "suffix hit, depth 1", "suffix hit, depth 3, upper case", "miss", "IPv4 literal", "mixed"};
    PolicyRequest[][] sets = new PolicyRequest[kinds.length][];
    for (int k = 0; k < kinds.length - 1; k++) {
      sets[k] = requests(random, k);
    }
    sets[kinds.length - 1] = requests(random, -1);
    long sink = 0;
    for (int pass = 0; pass < 2; pass++) { // the first pass warms the JIT up
      for (int k = 0; k < kinds.length; k++) {
        long n = 0;
        long start = System.nanoTime();
        long now;
        do {
          for (PolicyRequest r : sets[k]) {
            sink += PolicyEngine.decide(r, policy).action().ordinal();
          }
          n += sets[k].length;
          now = System.nanoTime();
        } while (now - start < 1_000_000_000L);
        if (pass == 1) {
          System.out.printf("%-32s %,12.0f decisions/s%n", kinds[k], n * 1e9 / (now - start));
        }
      }
    }
    System.out.println("(" + policy.rules().size() + " rules; sink " + sink + ")");
  }

  static JsonObject policyJson() {
    JsonArray rules = new JsonArray();
    rules.add(new JsonObject().put("id", "no-trace").put("action", "deny").put("methods", new JsonArray().add("TRACE")));
    rules.add(new JsonObject().put("id", "private").put("action", "deny").put("hosts", new JsonArray().add("10.0.0.0/8").add("fd00::/8")));
    for (int i = 0; i < RULES; i++) {
      String host = i % 2 == 0 ? "host" + i + ".site" + (i % 97) + ".com" : "*.zone" + i + ".net";
      rules.add(new JsonObject().put("id", "r" + i).put("action", i % 3 == 0 ? "deny" : "allow").put("hosts", new JsonArray().add(host)));
    }
    rules.add(new JsonObject().put("id", "smtp").put("action", "deny").put("ports", new JsonArray().add(25)));
    return new JsonObject().put("rules", rules).put("default", "deny");
  }

  /** 4096 requests of one kind ({@code kind} 0-4), or of all kinds in turn ({@code -1}). */
  static PolicyRequest[] requests(Random random, int kind) {
    PolicyRequest[] out = new PolicyRequest[4096];
    for (int k = 0; k < out.length; k++) {
      int i = random.nextInt(RULES);
      String host =
          switch (kind >= 0 ? kind : k % 5) {
            case 0 -> "host" + (i & ~1) + ".site" + ((i & ~1) % 97) + ".com";
            case 1 -> "www.zone" + (i | 1) + ".net";
            case 2 -> "a.b.cdn.ZONE" + (i | 1) + ".NET.";
            case 3 -> "miss" + i + ".example.org";
            default -> "10.0.0." + (i % 250);
          };
      out[k] = new PolicyRequest(k % 2 == 0 ? "CONNECT" : "GET", host, 443, null);
    }
    return out;
  }
}
