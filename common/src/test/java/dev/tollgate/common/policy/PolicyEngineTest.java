package dev.tollgate.common.policy;

import static dev.tollgate.common.policy.Fixtures.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyEngineTest {

  /** Exercises every matcher; the comments in the table say which rule a row is about. */
  private static final Policy MAIN =
      policy(
          """
          {"auth": {"users": {"alice": "HASH", "bob": "HASH", "carol": "HASH"},
                    "groups": {"staff": ["alice", "bob"], "ops": ["carol"]}},
           "rules": [
             {"id": "block-ads", "action": "deny", "hosts": ["ads.example.com", "*.doubleclick.net"]},
             {"id": "loopback", "action": "deny", "hosts": ["127.0.0.1"]},
             {"id": "v6-loopback", "action": "deny", "hosts": ["[::1]"]},
             {"id": "ula", "action": "allow", "hosts": ["fd00::/8"], "ports": [443]},
             {"id": "staff-internal", "action": "allow", "hosts": ["10.0.0.0/8"], "ports": [80, 443, "8000-8999"], "groups": ["staff"]},
             {"id": "internal-deny", "action": "deny", "hosts": ["10.0.0.0/8"]},
             {"id": "bank", "action": "tunnel", "hosts": ["*.bank.example"]},
             {"id": "inspect", "action": "intercept", "hosts": ["*.example.org"], "methods": ["CONNECT"], "users": ["bob"]},
             {"id": "org-deny", "action": "deny", "hosts": ["*.example.org"]},
             {"id": "exact-org", "action": "intercept", "hosts": ["example.org"]},
             {"id": "smtp", "action": "deny", "ports": ["25-25", 465, "587"]},
             {"id": "carol-only", "action": "allow", "hosts": ["carol.example.net"], "users": ["carol"]},
             {"id": "carol-other", "action": "deny", "hosts": ["carol.example.net"]},
             {"id": "no-trace", "action": "deny", "methods": ["TRACE"]},
             {"id": "first", "action": "allow", "hosts": ["order.example.com"]},
             {"id": "second", "action": "deny", "hosts": ["order.example.com", "*.order.example.com"]}
           ],
           "default": "allow"}
          """);

  private static final Policy DENY_DEFAULT =
      policy(
          """
          {"rules": [
             {"id": "web", "action": "allow", "hosts": ["*.example.com", "example.com"], "ports": [443, 80]},
             {"id": "private", "action": "allow", "hosts": ["192.168.0.0/16"]}
           ],
           "default": "deny"}
          """);

  private static final Policy AUTH =
      policy(
          """
          {"auth": {"required": true, "users": {"alice": "HASH"}},
           "rules": [{"id": "alice-deny", "action": "deny", "users": ["alice"], "hosts": ["blocked.example"]}]}
          """);

  private static final Policy CATCH_ALL =
      policy(
          """
          {"rules": [
             {"id": "ads", "action": "deny", "hosts": ["ads.example.com"]},
             {"id": "everything", "action": "intercept"}
           ],
           "default": "deny"}
          """);

  private static final Map<String, Policy> POLICIES =
      Map.of("main", MAIN, "deny", DENY_DEFAULT, "auth", AUTH, "all", CATCH_ALL, "empty", Policy.empty());

  @ParameterizedTest(name = "[{0}] {1} {2}:{3} user={4} -> {5} {6}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          # exact names, case, trailing dot
          main | CONNECT | ads.example.com          | 443 |       | DENY          | block-ads
          main | GET     | ads.example.com          | 80  |       | DENY          | block-ads
          main | CONNECT | ADS.Example.COM          | 443 |       | DENY          | block-ads
          main | CONNECT | ads.example.com.         | 443 |       | DENY          | block-ads
          main | CONNECT | x.ads.example.com        | 443 |       | ALLOW_TUNNEL  |
          main | CONNECT | example.com              | 443 |       | ALLOW_TUNNEL  |
          main | GET     | example.com              | 80  |       | ALLOW_FORWARD |
          # *.suffix: subdomains at any depth, never the suffix itself, only at a label boundary
          main | CONNECT | doubleclick.net          | 443 |       | ALLOW_TUNNEL  |
          main | CONNECT | ad.doubleclick.net       | 443 |       | DENY          | block-ads
          main | CONNECT | a.b.c.ad.doubleclick.net | 443 |       | DENY          | block-ads
          main | CONNECT | AD.DoubleClick.NET.      | 443 |       | DENY          | block-ads
          main | CONNECT | xdoubleclick.net         | 443 |       | ALLOW_TUNNEL  |
          main | CONNECT | doubleclick.net.evil     | 443 |       | ALLOW_TUNNEL  |
          # an IPv4 rule against odd encodings of the target
          main | CONNECT | 127.0.0.1                | 443 |       | DENY          | loopback
          main | CONNECT | 2130706433               | 443 |       | DENY          | loopback
          main | CONNECT | 0x7f000001               | 443 |       | DENY          | loopback
          main | CONNECT | 0X7F000001               | 443 |       | DENY          | loopback
          main | CONNECT | 0177.0.0.1               | 443 |       | DENY          | loopback
          main | CONNECT | 127.1                    | 443 |       | DENY          | loopback
          main | CONNECT | [::ffff:127.0.0.1]       | 443 |       | DENY          | loopback
          main | CONNECT | ::ffff:127.0.0.1         | 443 |       | DENY          | loopback
          main | CONNECT | 127.0.0.1.               | 443 |       | DENY          | loopback
          main | CONNECT | 127.0.0.2                | 443 |       | ALLOW_TUNNEL  |
          # IPv6 literal and CIDR rules
          main | CONNECT | [::1]                    | 443 |       | DENY          | v6-loopback
          main | CONNECT | ::1                      | 443 |       | DENY          | v6-loopback
          main | CONNECT | [0:0:0:0:0:0:0:1]        | 443 |       | DENY          | v6-loopback
          main | CONNECT | [fd12::1]                | 443 |       | ALLOW_TUNNEL  | ula
          main | CONNECT | [FD12::1]                | 443 |       | ALLOW_TUNNEL  | ula
          main | CONNECT | [fe80::1]                | 443 |       | ALLOW_TUNNEL  |
          # ports (single, range, outside) and groups
          main | CONNECT | 10.1.2.3                 | 443 | alice | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | 10.1.2.3                 | 8080| bob   | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | 10.1.2.3                 | 8000| alice | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | 10.1.2.3                 | 8999| alice | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | 10.1.2.3                 | 9000| alice | DENY          | internal-deny
          main | CONNECT | 10.1.2.3                 | 7999| alice | DENY          | internal-deny
          main | CONNECT | 10.1.2.3                 | 22  | alice | DENY          | internal-deny
          main | CONNECT | 10.1.2.3                 | 443 | carol | DENY          | internal-deny
          main | CONNECT | 10.1.2.3                 | 443 |       | DENY          | internal-deny
          main | GET     | 10.1.2.3                 | 80  | alice | ALLOW_FORWARD | staff-internal
          main | CONNECT | 012.1.2.3                | 443 | alice | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | 167838211                | 443 | bob   | ALLOW_TUNNEL  | staff-internal
          main | CONNECT | [::ffff:10.1.2.3]        | 443 |       | DENY          | internal-deny
          main | CONNECT | [::ffff:a01:203]         | 443 | alice | ALLOW_TUNNEL  | staff-internal
          # tunnel action
          main | CONNECT | www.bank.example         | 443 |       | ALLOW_TUNNEL  | bank
          main | GET     | www.bank.example         | 80  |       | ALLOW_FORWARD | bank
          main | CONNECT | bank.example             | 443 |       | ALLOW_TUNNEL  |
          # intercept: CONNECT only, user matcher, then the rules below it
          main | CONNECT | shop.example.org         | 443 | bob   | INTERCEPT     | inspect
          main | GET     | shop.example.org         | 80  | bob   | DENY          | org-deny
          main | CONNECT | shop.example.org         | 443 | alice | DENY          | org-deny
          main | CONNECT | shop.example.org         | 443 |       | DENY          | org-deny
          main | CONNECT | example.org              | 443 | bob   | INTERCEPT     | exact-org
          main | GET     | example.org              | 80  |       | ALLOW_FORWARD | exact-org
          # a rule with ports only, a rule with methods only
          main | CONNECT | mail.example.com         | 25  |       | DENY          | smtp
          main | CONNECT | mail.example.com         | 465 |       | DENY          | smtp
          main | CONNECT | mail.example.com         | 587 |       | DENY          | smtp
          main | CONNECT | mail.example.com         | 26  |       | ALLOW_TUNNEL  |
          main | TRACE   | example.com              | 80  |       | DENY          | no-trace
          main | trace   | example.com              | 80  |       | ALLOW_FORWARD |
          # users
          main | CONNECT | carol.example.net        | 443 | carol | ALLOW_TUNNEL  | carol-only
          main | CONNECT | carol.example.net        | 443 | alice | DENY          | carol-other
          main | CONNECT | carol.example.net        | 443 |       | DENY          | carol-other
          # first match wins, across exact, suffix, address and host-less buckets
          main | CONNECT | order.example.com        | 443 |       | ALLOW_TUNNEL  | first
          main | CONNECT | x.order.example.com      | 443 |       | DENY          | second
          main | CONNECT | ads.example.com          | 25  |       | DENY          | block-ads
          main | CONNECT | 127.0.0.1                | 25  |       | DENY          | loopback
          main | TRACE   | order.example.com        | 443 |       | DENY          | no-trace
          main | CONNECT | 10.1.2.3                 | 25  | alice | DENY          | internal-deny
          # default deny
          deny | CONNECT | www.example.com          | 443 |       | ALLOW_TUNNEL  | web
          deny | GET     | www.example.com          | 80  |       | ALLOW_FORWARD | web
          deny | CONNECT | www.example.com          | 8443|       | DENY          |
          deny | CONNECT | example.com              | 443 |       | ALLOW_TUNNEL  | web
          deny | CONNECT | other.test               | 443 |       | DENY          |
          deny | GET     | other.test               | 80  |       | DENY          |
          deny | CONNECT | 192.168.1.1              | 22  |       | ALLOW_TUNNEL  | private
          deny | CONNECT | 3232235777               | 22  |       | ALLOW_TUNNEL  | private
          deny | CONNECT | 10.0.0.1                 | 443 |       | DENY          |
          # auth required: before any rule
          auth | CONNECT | example.com              | 443 |       | AUTH_REQUIRED |
          auth | GET     | example.com              | 80  |       | AUTH_REQUIRED |
          auth | CONNECT | blocked.example          | 443 |       | AUTH_REQUIRED |
          auth | CONNECT | example.com              | 443 | alice | ALLOW_TUNNEL  |
          auth | CONNECT | blocked.example          | 443 | alice | DENY          | alice-deny
          # a rule with no matchers
          all  | CONNECT | ads.example.com          | 443 |       | DENY          | ads
          all  | CONNECT | anything.test            | 443 |       | INTERCEPT     | everything
          all  | GET     | anything.test            | 80  |       | ALLOW_FORWARD | everything
          all  | CONNECT | 8.8.8.8                  | 443 |       | INTERCEPT     | everything
          # the empty policy
          empty| CONNECT | example.com              | 443 |       | ALLOW_TUNNEL  |
          empty| GET     | 127.0.0.1                | 80  |       | ALLOW_FORWARD |
          """)
  void decides(String policy, String method, String host, int port, String user, Verdict verdict, String ruleId) {
    Decision d = PolicyEngine.decide(new PolicyRequest(method, host, port, user), POLICIES.get(policy));
    assertEquals(verdict, d.action());
    assertEquals(ruleId, d.ruleId());
    String reason =
        ruleId != null
            ? "rule " + ruleId
            : verdict == Verdict.AUTH_REQUIRED ? "proxy authentication required" : "default " + POLICIES.get(policy).defaultAction().json();
    assertEquals(reason, d.reason());
  }

  @ParameterizedTest(name = "{0} on CONNECT={1} -> {2}")
  @CsvSource({
    "ALLOW, true, ALLOW_TUNNEL",
    "ALLOW, false, ALLOW_FORWARD",
    "TUNNEL, true, ALLOW_TUNNEL",
    "TUNNEL, false, ALLOW_FORWARD",
    "INTERCEPT, true, INTERCEPT",
    "INTERCEPT, false, ALLOW_FORWARD",
    "DENY, true, DENY",
    "DENY, false, DENY"
  })
  void mapsActionsToVerdicts(Action action, boolean connect, Verdict verdict) {
    assertEquals(verdict, PolicyEngine.verdict(action, connect));
  }

  @Test
  void reasonsReadAsDocumented() {
    assertEquals(new Decision(Verdict.DENY, "block-ads", "rule block-ads"), decide(MAIN, "CONNECT", "ads.example.com", null));
    assertEquals(new Decision(Verdict.DENY, null, "default deny"), decide(DENY_DEFAULT, "CONNECT", "x.test", null));
    assertEquals(new Decision(Verdict.ALLOW_TUNNEL, null, "default allow"), decide(MAIN, "CONNECT", "x.test", null));
    assertEquals(new Decision(Verdict.AUTH_REQUIRED, null, "proxy authentication required"), decide(AUTH, "GET", "x.test", null));
  }

  @Test
  void decisionsSayWhetherTheRequestGoesOn() {
    assertTrue(decide(CATCH_ALL, "CONNECT", "x.test", null).allowed());
    assertTrue(decide(MAIN, "GET", "x.test", null).allowed());
    assertFalse(decide(CATCH_ALL, "CONNECT", "ads.example.com", null).allowed());
    assertFalse(decide(AUTH, "CONNECT", "x.test", null).allowed());
  }

  @Test
  void requestsKnowConnect() {
    assertTrue(new PolicyRequest("CONNECT", "h", 443, null).isConnect());
    assertFalse(new PolicyRequest("GET", "h", 80, null).isConnect());
    assertThrows(IllegalArgumentException.class, () -> new PolicyRequest("GET", "h", 65536, null));
    assertThrows(NullPointerException.class, () -> new PolicyRequest(null, "h", 80, null));
  }

  @Test
  void oddHostsNeverThrow() {
    for (String host : new String[] {"", ".", "..", "[", "[]", "::", "fe80::1%eth0", "[fe80::1%25eth0]", "a..b", "1.2.3.4.5", "0x", "-"}) {
      assertNull(decide(MAIN, "CONNECT", host, null).ruleId(), host);
    }
  }

  @Test
  void aZoneIdDoesNotDodgeAnAddressRule() {
    assertEquals("v6-loopback", decide(MAIN, "CONNECT", "[::1%lo]", null).ruleId());
  }

  private static Decision decide(Policy p, String method, String host, String user) {
    return PolicyEngine.decide(new PolicyRequest(method, host, 443, user), p);
  }
}
