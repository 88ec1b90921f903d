package dev.tollgate.common.policy;

import static dev.tollgate.common.policy.Fixtures.policy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.IpLiterals;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Rules for terminating listeners and their {@code clients} matcher, as tables without sockets. */
class ListenerRulesTest {

  private static final ClientCertificate ALICE =
      new ClientCertificate(
          new X500Principal("CN=alice,OU=dev,O=Example"),
          List.of("alice"),
          List.of("alice.clients.example.com"),
          List.of("spiffe://example.com/team/alice"),
          List.of("alice@example.com"),
          List.of(IpLiterals.parse("10.1.2.3")));
  private static final ClientCertificate BOB =
      new ClientCertificate(new X500Principal("CN=bob,O=Other"), List.of("bob"), List.of(), List.of(), List.of(), List.of());
  private static final Map<String, ClientCertificate> CLIENTS = Map.of("alice", ALICE, "bob", BOB);

  private static final Policy POLICY =
      policy(
          """
          {"auth": {"required": true, "users": {"carol": "HASH"}},
           "rules": [
             {"id": "admin-alice", "action": "allow", "listeners": ["web"], "hosts": ["admin.example.com"], "clients": ["cn:alice"]},
             {"id": "admin-others", "action": "deny", "listeners": ["web"], "hosts": ["admin.example.com"]},
             {"id": "no-delete", "action": "deny", "listeners": ["web", "api"], "methods": ["DELETE"]},
             {"id": "api-team", "action": "allow", "listeners": ["api"], "clients": ["uri:spiffe://example.com/team/*"]},
             {"id": "api-rest", "action": "deny", "listeners": ["api"]},
             {"id": "db-alice", "action": "allow", "listeners": ["db"], "clients": ["subject:cn=alice, ou=dev, o=Example"]},
             {"id": "db-rest", "action": "deny", "listeners": ["db"], "ports": [5432]},
             {"id": "proxy-deny", "action": "deny", "hosts": ["admin.example.com", "*.example.com"]}
           ],
           "default": "deny"}
          """);

  @ParameterizedTest(name = "{0} {1} on {3} as {4} -> {5} {6}")
  @CsvSource(
      delimiter = '|',
      nullValues = "-",
      textBlock =
          """
          # a listener's rules decide; neither auth.required nor default apply there
          GET     | admin.example.com | 443  | web | alice | ALLOW_FORWARD | admin-alice
          GET     | admin.example.com | 443  | web | bob   | DENY          | admin-others
          GET     | admin.example.com | 443  | web | -     | DENY          | admin-others
          GET     | www.example.com   | 443  | web | -     | ALLOW_FORWARD | -
          DELETE  | www.example.com   | 443  | web | alice | DENY          | no-delete
          # a rule names listeners: others never see it
          GET     | admin.example.com | 443  | other | -   | ALLOW_FORWARD | -
          DELETE  | x.example.com     | 443  | api | alice | DENY          | no-delete
          GET     | x.example.com     | 443  | api | alice | ALLOW_FORWARD | api-team
          GET     | x.example.com     | 443  | api | bob   | DENY          | api-rest
          # a tunnel service is decided as a CONNECT to its backend
          CONNECT | db.internal       | 5432 | db  | alice | ALLOW_TUNNEL  | db-alice
          CONNECT | db.internal       | 5432 | db  | bob   | DENY          | db-rest
          CONNECT | db.internal       | 6432 | db  | bob   | ALLOW_TUNNEL  | -
          """)
  void listenerRulesDecide(String method, String host, int port, String listener, String client, Verdict verdict, String rule) {
    Decision d = PolicyEngine.decide(PolicyRequest.terminating(method, host, port, listener, client == null ? null : CLIENTS.get(client)), POLICY);
    assertEquals(verdict, d.action(), d.reason());
    assertEquals(rule, d.ruleId());
    if (rule == null) {
      assertEquals("no listener rule", d.reason());
    }
  }

  @Test
  void aCertificateHolderIsCountedByItsCommonNameOrElseItsSubject() {
    assertEquals("alice", ALICE.userName());
    ClientCertificate noCn = new ClientCertificate(new X500Principal("UID=svc-7,O=Example"), List.of(), List.of(), List.of(), List.of(), List.of());
    assertEquals("UID=svc-7,O=Example", noCn.userName());
  }

  @Test
  void proxyRequestsNeverSeeListenerRules() {
    // auth.required still answers first on the proxy, and the listener rules above the proxy rule are skipped.
    assertEquals(Verdict.AUTH_REQUIRED, PolicyEngine.decide(new PolicyRequest("GET", "admin.example.com", 443, null), POLICY).action());
    Decision d = PolicyEngine.decide(new PolicyRequest("GET", "admin.example.com", 443, "carol"), POLICY);
    assertEquals("proxy-deny", d.ruleId());
    Decision other = PolicyEngine.decide(new PolicyRequest("CONNECT", "db.internal", 5432, "carol"), POLICY);
    assertEquals("default deny", other.reason());
  }

  @Test
  void aHostOnlyProxyRuleDoesNotDecideForAListener() {
    Policy p = policy("""
        {"rules": [{"id": "deny-all-example", "action": "deny", "hosts": ["www.example.com"]}]}""");
    assertEquals(Verdict.DENY, PolicyEngine.decide(new PolicyRequest("GET", "www.example.com", 443, null), p).action());
    assertEquals(Verdict.ALLOW_FORWARD, PolicyEngine.decide(PolicyRequest.terminating("GET", "www.example.com", 443, "web", ALICE), p).action());
  }

  @ParameterizedTest(name = "{0} matches alice: {1}, bob: {2}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          *                                   | true  | true
          cn:alice                            | true  | false
          cn:Alice                            | false | false
          subject:CN=alice,OU=dev,O=Example   | true  | false
          subject:cn=alice, ou=dev, o=example | true  | false
          subject:CN=alice,O=Example          | false | false
          dns:alice.clients.example.com       | true  | false
          DNS:ALICE.clients.example.com.      | true  | false
          dns:*.example.com                   | true  | false
          dns:*.clients.example.com           | true  | false
          dns:*.alice.clients.example.com     | false | false
          uri:spiffe://example.com/team/alice | true  | false
          uri:spiffe://example.com/team/*     | true  | false
          uri:spiffe://example.com/other/*    | false | false
          uri:spiffe://example.com/team       | false | false
          email:ALICE@example.com             | true  | false
          ip:10.1.2.3                         | true  | false
          ip:10.0.0.0/8                       | true  | false
          ip:192.168.0.0/16                   | false | false
          """)
  void clientPatterns(String pattern, boolean alice, boolean bob) {
    ClientPattern p = ClientPattern.parse(pattern);
    assertEquals(alice, p.matches(ALICE));
    assertEquals(bob, p.matches(BOB));
    assertFalse(p.matches(null), "no certificate matches nothing");
    assertEquals(p, ClientPattern.parse(p.toString()), "the document form reads back the same");
  }

  @ParameterizedTest(name = "{1} <- {0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          {"rules": [{"id": "a", "action": "allow", "clients": ["cn:alice"]}]}                         | rules[0].clients   | terminating listeners only
          {"rules": [{"id": "a", "action": "intercept", "listeners": ["web"]}]}                        | rules[0].action    | allow or deny
          {"rules": [{"id": "a", "action": "tunnel", "listeners": ["web"]}]}                           | rules[0].action    | allow or deny
          {"auth": {"users": {"u": "HASH"}}, "rules": [{"id": "a", "action": "allow", "listeners": ["web"], "users": ["u"]}]} | rules[0].users | no proxy login
          {"auth": {"users": {"u": "HASH"}, "groups": {"g": ["u"]}}, "rules": [{"id": "a", "action": "allow", "listeners": ["web"], "groups": ["g"]}]} | rules[0].groups | no proxy login
          {"rules": [{"id": "a", "action": "allow", "listeners": []}]}                                 | rules[0].listeners | empty list
          {"rules": [{"id": "a", "action": "allow", "listeners": ["we b"]}]}                           | rules[0].listeners[0] | terminating listener
          {"rules": [{"id": "a", "action": "allow", "listeners": [7]}]}                                | rules[0].listeners[0] | expected a string
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": []}]}             | rules[0].clients   | empty list
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["alice"]}]}      | rules[0].clients[0] | expected *, subject:DN
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["serial:1"]}]}   | rules[0].clients[0] | expected *, subject:DN
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["cn:"]}]}        | rules[0].clients[0] | no value
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["subject:alice"]}]} | rules[0].clients[0] | distinguished name
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["dns:a.*.com"]}]} | rules[0].clients[0] | DNS name
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["dns:*."]}]}     | rules[0].clients[0] | DNS name
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["uri:a*b"]}]}    | rules[0].clients[0] | only end in *
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": ["ip:10.0.0.0/40"]}]} | rules[0].clients[0] | IP address or CIDR
          {"rules": [{"id": "a", "action": "allow", "listeners": ["web"], "clients": [1]}]}            | rules[0].clients[0] | expected a string
          """)
  void badListenerRulesAreRefusedByPath(String json, String path, String message) {
    PolicyException e = assertThrows(PolicyException.class, () -> Policy.fromJson(Fixtures.json(json)));
    assertEquals(path, e.path(), e.getMessage());
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  @Test
  void listenerRulesRoundTrip() {
    JsonObject doc = POLICY.toJson();
    Policy again = Policy.fromJson(doc);
    assertEquals(POLICY, again);
    JsonObject first = doc.getJsonArray("rules").getJsonObject(0);
    assertEquals("[\"web\"]", first.getJsonArray("listeners").encode());
    assertEquals("[\"cn:alice\"]", first.getJsonArray("clients").encode());
    JsonObject db = doc.getJsonArray("rules").getJsonObject(5);
    assertEquals("subject:CN=alice,OU=dev,O=Example", db.getJsonArray("clients").getString(0));
    assertNull(doc.getJsonArray("rules").getJsonObject(7).getValue("listeners"));
  }
}
