package dev.tollgate.common.policy;

import static dev.tollgate.common.policy.Fixtures.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.Cidr;
import dev.tollgate.common.NodeConfig;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyJsonTest {

  private static final Policy SPEC = policy(Fixtures.SPEC_EXAMPLE);

  @Test
  void readsTheSpecExample() {
    assertEquals(7, SPEC.version());
    assertTrue(SPEC.auth().required());
    assertEquals("Tollgate", SPEC.auth().realm());
    assertEquals(List.of("alice", "bob"), List.copyOf(SPEC.auth().users().keySet()));
    assertEquals(List.of("alice", "bob"), SPEC.auth().groups().get("staff"));
    assertEquals(List.of("block-ads", "staff-internal", "bank", "inspect"), SPEC.rules().stream().map(Rule::id).toList());
    Rule staff = SPEC.rules().get(1);
    assertEquals(Action.ALLOW, staff.action());
    assertEquals(List.of(new PortRange(80, 80), new PortRange(443, 443), new PortRange(8000, 8999)), staff.ports());
    assertEquals(List.of(HostPattern.parse("10.0.0.0/8")), staff.hosts());
    assertEquals(List.of("staff"), staff.groups());
    assertEquals(List.of("CONNECT"), SPEC.rules().get(3).methods());
    assertEquals(Action.ALLOW, SPEC.defaultAction());
    assertEquals(List.of(Cidr.parse("127.0.0.0/8")), SPEC.allowPrivate());
    assertEquals(new PolicyTimeouts(Duration.ofSeconds(10), Duration.ofMinutes(5), Duration.ofHours(1), Duration.ofSeconds(30)), SPEC.timeouts());
    assertFalse(SPEC.enforceOnOpenTunnels());
  }

  @Test
  void roundTripsTheSpecExample() {
    JsonObject json = SPEC.toJson();
    Policy again = Policy.fromJson(json);
    assertEquals(SPEC, again);
    assertEquals(SPEC.hashCode(), again.hashCode());
    assertEquals(json, again.toJson());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{}",
        """
        {"auth": {"htpasswd": "/etc/tollgate/htpasswd", "realm": "Corp proxy", "groups": {"staff": ["alice"], "none": []}},
         "rules": [{"id": "r1", "action": "intercept", "hosts": ["0x7f000001", "[::1]", "fd00::/8", "::ffff:10.0.0.0/8", "Mixed.Case.", "*.x.test"],
                    "ports": [1, "2-3", 65535], "users": ["alice"], "groups": ["staff"], "methods": ["CONNECT", "GET"]}],
         "default": "deny", "enforceOnOpenTunnels": true, "version": 0,
         "network": {"allowPrivate": ["::1", "10.0.0.5/8"]},
         "limits": {"groups": {"staff": {"bytesPerSecond": 1099511627776}}},
         "timeouts": {"connect": 1.5, "idle": "PT90S", "maxLifetime": "2d"}}
        """,
        Fixtures.SPEC_EXAMPLE
      })
  void roundTrips(String json) {
    Policy p = policy(json);
    Policy again = Policy.fromJson(p.toJson());
    assertEquals(p, again);
    assertEquals(p.toJson(), again.toJson());
  }

  @Test
  void equalityIsSemantic() {
    String a = """
        {"rules": [{"id": "r", "action": "deny", "hosts": ["0x7f000001", "EXAMPLE.com."], "ports": ["443"]}], "timeouts": {"idle": "60s"}}
        """;
    String b = """
        {"rules": [{"id": "r", "action": "deny", "hosts": ["127.0.0.1", "example.com"], "ports": [443]}], "timeouts": {"idle": "1m"}}
        """;
    assertEquals(policy(a), policy(b));
    assertEquals("127.0.0.1", policy(a).toJson().getJsonArray("rules").getJsonObject(0).getJsonArray("hosts").getString(0));
    assertNotEquals(policy(a), policy(b).withVersion(2));
  }

  @Test
  void theEmptyPolicyAllowsEverything() {
    Policy empty = Policy.empty();
    assertEquals(0, empty.version());
    assertFalse(empty.auth().required());
    assertTrue(empty.rules().isEmpty());
    assertEquals(Action.ALLOW, empty.defaultAction());
    assertTrue(empty.allowPrivate().isEmpty());
    assertEquals(Limits.UNLIMITED, empty.limitsFor("anyone"));
    assertEquals(PolicyTimeouts.NONE, empty.timeouts());
    assertEquals(empty, Policy.fromJson(new JsonObject()));
    assertEquals(empty, Policy.fromJson(empty.toJson()));
  }

  @Test
  void withVersionChangesOnlyTheVersion() {
    Policy v9 = SPEC.withVersion(9);
    assertEquals(9, v9.version());
    assertEquals(SPEC.rules(), v9.rules());
    assertEquals(SPEC, v9.withVersion(7));
    assertEquals(9, v9.toJson().getInteger("version"));
    PolicyRequest r = new PolicyRequest("CONNECT", "x.doubleclick.net", 443, "alice");
    assertEquals(PolicyEngine.decide(r, SPEC), PolicyEngine.decide(r, v9));
  }

  @Test
  void policyTimeoutsReplaceTheNodesWhereSet() {
    PolicyTimeouts t = new PolicyTimeouts(Duration.ofSeconds(3), null, null, Duration.ofSeconds(5));
    NodeConfig.Timeouts node = NodeConfig.Timeouts.defaults();
    assertEquals(new NodeConfig.Timeouts(Duration.ofSeconds(3), node.idle(), node.maxLifetime(), Duration.ofSeconds(5)), t.over(node));
    assertEquals(node, PolicyTimeouts.NONE.over(node));
    assertNull(policy("{\"timeouts\": {\"idle\": \"5m\"}}").timeouts().connect());
  }

  @Test
  void logsNeverShowHashes() {
    assertFalse(SPEC.auth().toString().contains(Fixtures.HASH));
    assertTrue(SPEC.auth().toString().contains("alice"));
    assertEquals("Policy[version=7, rules=4, default=allow, authRequired=true]", SPEC.toString());
  }

  @Test
  void groupsOfAUserFollowTheDocument() {
    Policy p = policy("""
        {"auth": {"users": {"a": "HASH", "b": "HASH"}, "groups": {"x": ["a"], "y": ["b", "a"], "z": ["b"]}}}
        """);
    assertEquals(List.of("x", "y"), p.groupsOf("a"));
    assertEquals(List.of("y", "z"), p.groupsOf("b"));
    assertEquals(List.of(), p.groupsOf("c"));
    assertEquals(List.of(), p.groupsOf(null));
  }

  private static final Policy LIMITS =
      policy(
          """
          {"auth": {"users": {"alice": "HASH", "bob": "HASH", "carol": "HASH", "dave": "HASH", "eve": "HASH"},
                    "groups": {"staff": ["alice", "bob", "carol"], "ops": ["bob", "eve"], "slow": ["carol"]}},
           "limits": {"default": {"maxTunnels": 100, "requestsPerSecond": 50, "burst": 100, "bytesPerSecond": 10485760},
                      "groups": {"staff": {"requestsPerSecond": 200},
                                 "ops": {"requestsPerSecond": 0, "maxTunnels": 5},
                                 "slow": {"requestsPerSecond": 10, "burst": 300}},
                      "users": {"alice": {"maxTunnels": 10}, "eve": {"requestsPerSecond": 20, "bytesPerSecond": 0}}}}
          """);

  @ParameterizedTest(name = "{0}: {1} tunnels, {2} req/s, burst {3}, {4} B/s")
  @CsvSource({
    // no user, and a user in no group: the defaults
    "     , 100,  50, 100, 10485760",
    "dave , 100,  50, 100, 10485760",
    // one group, then the user's own override field by field
    "alice,  10, 200, 100, 10485760",
    // staff 200 vs ops 0 (unlimited): the most generous wins; only ops sets maxTunnels
    "bob  ,   5,   0, 100, 10485760",
    // staff 200 vs slow 10: 200; only slow sets burst
    "carol, 100, 200, 300, 10485760",
    // the user's own override beats the group's unlimited
    "eve  ,   5,  20, 100, 0"
  })
  void resolvesLimits(String user, int maxTunnels, int rps, int burst, long bps) {
    assertEquals(new Limits(maxTunnels, rps, burst, bps), LIMITS.limitsFor(user));
  }

  @Test
  void mostGenerousComparesFieldByField() {
    LimitOverride a = new LimitOverride(5, 0, null, 10L);
    LimitOverride b = new LimitOverride(7, 9, 3, null);
    assertEquals(new LimitOverride(7, 0, 3, 10L), a.mostGenerous(b));
    assertEquals(a.mostGenerous(b), b.mostGenerous(a));
    assertEquals(new Limits(1, 2, 3, 4), LimitOverride.NONE.over(new Limits(1, 2, 3, 4)));
  }
}
