package dev.tollgate.common.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyValidationTest {

  @ParameterizedTest(name = "{1} <- {0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          # ports: 1-65535, ranges low-high
          {"rules": [{"id": "a", "action": "allow", "ports": [0]}]}                                 | rules[0].ports[0]     | between 1 and 65535
          {"rules": [{"id": "a", "action": "allow", "ports": [70000]}]}                             | rules[0].ports[0]     | between 1 and 65535
          {"rules": [{"id": "a", "action": "allow", "ports": [443.5]}]}                             | rules[0].ports[0]     | whole number
          {"rules": [{"id": "a", "action": "allow", "ports": ["9000-8000"]}]}                       | rules[0].ports[0]     | low-high
          {"rules": [{"id": "a", "action": "allow", "ports": ["80-x"]}]}                            | rules[0].ports[0]     | range
          {"rules": [{"id": "a", "action": "allow", "ports": [80, "1-65536"]}]}                     | rules[0].ports[1]     | 1-65535
          {"rules": [{"id": "a", "action": "allow", "ports": [true]}]}                              | rules[0].ports[0]     | port
          {"rules": [{"id": "a", "action": "allow"}, {"id": "b", "action": "deny"}, {"id": "c", "action": "deny"}, {"id": "d", "action": "allow", "ports": [-1]}]} | rules[3].ports[0] | between
          # hosts: names, suffixes, addresses, CIDRs
          {"rules": [{"id": "a", "action": "deny", "hosts": ["10.0.0.0/33"]}]}                      | rules[0].hosts[0]     | prefix
          {"rules": [{"id": "a", "action": "deny", "hosts": ["example.com/8"]}]}                    | rules[0].hosts[0]     | not an IP address
          {"rules": [{"id": "a", "action": "deny", "hosts": ["a..b"]}]}                             | rules[0].hosts[0]     | label
          {"rules": [{"id": "a", "action": "deny", "hosts": ["*"]}]}                                | rules[0].hosts[0]     | not allowed
          {"rules": [{"id": "a", "action": "deny", "hosts": ["a.*.com"]}]}                          | rules[0].hosts[0]     | not allowed
          {"rules": [{"id": "a", "action": "deny", "hosts": ["*.1"]}]}                              | rules[0].hosts[0]     | number
          {"rules": [{"id": "a", "action": "deny", "hosts": ["bücher.de"]}]}                        | rules[0].hosts[0]     | punycode
          {"rules": [{"id": "a", "action": "deny", "hosts": ["ex ample.com"]}]}                     | rules[0].hosts[0]     | not allowed
          {"rules": [{"id": "a", "action": "deny", "hosts": [42]}]}                                 | rules[0].hosts[0]     | expected a string
          {"rules": [{"id": "a", "action": "deny", "hosts": []}]}                                   | rules[0].hosts        | leave the key out
          {"rules": [{"id": "a", "action": "deny", "hosts": "example.com"}]}                        | rules[0].hosts        | expected a list
          # actions, ids, methods, users, groups
          {"rules": [{"id": "a", "action": "permit"}]}                                              | rules[0].action       | expected allow, deny, intercept or tunnel
          {"rules": [{"id": "a", "action": "ALLOW"}]}                                               | rules[0].action       | expected allow
          {"rules": [{"id": "a"}]}                                                                  | rules[0].action       | required
          {"rules": [{"action": "deny"}]}                                                           | rules[0].id           | required
          {"rules": [{"id": "has space", "action": "deny"}]}                                        | rules[0].id           | letters
          {"rules": [{"id": "a", "action": "deny"}, {"id": "b", "action": "deny"}, {"id": "a", "action": "allow"}]} | rules[2].id | duplicate id 'a', first used by rules[0]
          {"rules": [{"id": "a", "action": "deny", "methods": ["connect"]}]}                        | rules[0].methods[0]   | upper-case
          {"rules": [{"id": "a", "action": "deny", "users": ["mallory"]}]}                          | rules[0].users[0]     | unknown user 'mallory'
          {"auth": {"users": {"alice": "HASH"}}, "rules": [{"id": "a", "action": "deny", "users": ["alice", "bob"]}]} | rules[0].users[1] | unknown user 'bob'
          {"auth": {"users": {"alice": "HASH"}}, "rules": [{"id": "a", "action": "deny", "groups": ["staff"]}]} | rules[0].groups[0] | unknown group 'staff'
          {"rules": [{"id": "a", "action": "deny", "color": "red"}]}                                | rules[0].color        | unknown key
          {"rules": [{"id": "a", "action": "deny", "host": ["x.test"]}]}                            | rules[0].host         | unknown key
          {"rules": {"id": "a"}}                                                                    | rules                 | expected a list
          {"rules": ["a"]}                                                                          | rules[0]              | expected an object
          # default
          {"default": "intercept"}                                                                  | default               | expected allow or deny
          {"default": "block"}                                                                      | default               | expected allow or deny
          {"default": 1}                                                                            | default               | expected a string
          # auth
          {"auth": {"users": {"alice": "hunter2"}}}                                                 | auth.users.alice      | plain-text passwords are refused
          {"auth": {"users": {"alice": "HASH", "bob": "$2x$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"}}} | auth.users.bob | bcrypt
          {"auth": {"users": {"alice": "$2y$10$tooShort"}}}                                         | auth.users.alice      | bcrypt
          {"auth": {"users": {"alice": "$2y$1$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01"}}} | auth.users.alice | bcrypt
          {"auth": {"users": {"alice": 1234}}}                                                      | auth.users.alice      | bcrypt
          {"auth": {"users": {"a:b": "HASH"}}}                                                      | auth.users.a:b        | ':'
          {"auth": {"users": ["alice"]}}                                                            | auth.users            | expected an object
          {"auth": {"users": {"alice": "HASH"}, "groups": {"staff": ["alice", "mallory"]}}}         | auth.groups.staff[1]  | unknown user 'mallory'
          {"auth": {"users": {"alice": "HASH"}, "groups": {"staff": "alice"}}}                      | auth.groups.staff     | expected a list
          {"auth": {"users": {"alice": "HASH"}, "htpasswd": "/etc/tollgate/htpasswd"}}              | auth.htpasswd         | not both
          {"auth": {"htpasswd": ""}}                                                                | auth.htpasswd         | empty path
          {"auth": {"required": true}}                                                              | auth.required         | no one could log in
          {"auth": {"required": "yes", "users": {"alice": "HASH"}}}                                 | auth.required         | true or false
          {"auth": {"realm": "a\\"b"}}                                                              | auth.realm            | quotes
          {"auth": {"realm": ""}}                                                                   | auth.realm            | 1-64
          {"auth": {"password": "x"}}                                                               | auth.password         | unknown key
          {"auth": "alice"}                                                                         | auth                  | expected an object
          {"auth": {"certificateUsers": "svc"}}                                                     | auth.certificateUsers | expected a list
          {"auth": {"certificateUsers": ["svc", ""]}}                                               | auth.certificateUsers[1] | 1-256 printable
          {"auth": {"certificateUsers": ["svc", "batch", "svc"]}}                                   | auth.certificateUsers[2] | 'svc' is listed twice
          {"auth": {"certificateUsers": [7]}}                                                       | auth.certificateUsers[0] | expected a string
          {"auth": {"certificateUsers": ["svc"]}, "limits": {"users": {"svd": {"maxTunnels": 1}}}}  | limits.users.svd      | auth.users or auth.certificateUsers
          # limits
          {"auth": {"users": {"bob": "HASH"}}, "limits": {"users": {"bob": {"maxTunnels": -1}}}}    | limits.users.bob.maxTunnels | between 0 and
          {"auth": {"users": {"bob": "HASH"}}, "limits": {"users": {"bob": {"maxTunnels": "ten"}}}} | limits.users.bob.maxTunnels | whole number
          {"auth": {"users": {"bob": "HASH"}}, "limits": {"users": {"bob": {"maxTunels": 1}}}}      | limits.users.bob.maxTunels  | unknown key
          {"auth": {"users": {"bob": "HASH"}}, "limits": {"users": {"bob": 5}}}                     | limits.users.bob      | expected an object
          {"limits": {"users": {"zed": {"maxTunnels": 1}}}}                                         | limits.users.zed      | unknown user
          {"limits": {"groups": {"staff": {"burst": 1}}}}                                           | limits.groups.staff   | unknown group
          {"limits": {"default": {"burst": 1.5}}}                                                   | limits.default.burst  | whole number
          {"limits": {"default": {"bytesPerSecond": -5}}}                                           | limits.default.bytesPerSecond | between 0 and
          {"limits": {"default": {"requestsPerSecond": 3000000000}}}                                | limits.default.requestsPerSecond | between 0 and
          {"limits": {"defaults": {}}}                                                              | limits.defaults       | unknown key
          # timeouts
          {"timeouts": {"connect": "10x"}}                                                          | timeouts.connect      | unknown unit
          {"timeouts": {"idle": "0s"}}                                                              | timeouts.idle         | positive
          {"timeouts": {"idle": true}}                                                              | timeouts.idle         | duration
          {"timeouts": {"read": "10s"}}                                                             | timeouts.read         | unknown key
          # network
          {"network": {"allowPrivate": ["10.0.0.0/40"]}}                                            | network.allowPrivate[0] | prefix
          {"network": {"allowPrivate": ["example.com"]}}                                            | network.allowPrivate[0] | not an IP address
          {"network": {"allowPrivate": "10.0.0.0/8"}}                                               | network.allowPrivate  | expected a list
          {"network": {"allow": []}}                                                                | network.allow         | unknown key
          # top level
          {"rule": []}                                                                              | rule                  | unknown key
          {"version": -1}                                                                           | version               | between 0 and
          {"version": "7"}                                                                          | version               | whole number
          {"version": 1.5}                                                                          | version               | whole number
          {"enforceOnOpenTunnels": "yes"}                                                           | enforceOnOpenTunnels  | true or false
          """)
  void refusesWithPath(String json, String path, String fragment) {
    PolicyException e = assertThrows(PolicyException.class, () -> Fixtures.policy(json));
    assertEquals(path, e.path(), e.getMessage());
    assertTrue(e.problem().contains(fragment), () -> "'" + e.problem() + "' lacks '" + fragment + "'");
    assertEquals(path + ": " + e.problem(), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"hunter2", "correct horse battery staple", "$2y$10$short", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="})
  void neverRepeatsAPlainTextPassword(String secret) {
    JsonObject json = new JsonObject().put("auth", new JsonObject().put("users", new JsonObject().put("alice", secret)));
    PolicyException e = assertThrows(PolicyException.class, () -> Policy.fromJson(json));
    assertEquals("auth.users.alice", e.path());
    assertFalse(e.getMessage().contains(secret), e.getMessage());
  }

  @Test
  void refusesAPlainTextPasswordEvenWhenBuiltInCode() {
    PolicyException e =
        assertThrows(
            PolicyException.class,
            () -> new Auth(false, "r", java.util.Map.of("alice", "hunter2"), null, java.util.Map.of()));
    assertEquals("auth.users.alice", e.path());
  }

  @Test
  void certificateUsersMayHaveLimitsQuotasAndGroupsButNoPassword() {
    Policy p =
        Fixtures.policy(
            """
            {"auth": {"users": {"alice": "HASH"}, "certificateUsers": ["billing batch, EU", "alice"], "groups": {"batch": ["billing batch, EU"]}},
             "limits": {"users": {"billing batch, EU": {"maxTunnels": 2}}, "groups": {"batch": {"bytesPerSecond": 1000}}}}
            """);
    assertEquals(2, p.limitsFor("billing batch, EU").maxTunnels());
    assertEquals(1000, p.limitsFor("billing batch, EU").bytesPerSecond());
    assertEquals(java.util.List.of("batch"), p.groupsOf("billing batch, EU"));
    assertFalse(p.auth().users().containsKey("billing batch, EU"), "no password: it can never log in");
    assertEquals(p.auth(), Policy.fromJson(p.toJson()).auth(), "the document form keeps them");
  }

  @Test
  void acceptsTheThreeBcryptVariants() {
    String tail = Fixtures.HASH.substring(4);
    for (String prefix : new String[] {"$2a$", "$2b$", "$2y$"}) {
      JsonObject json = new JsonObject().put("auth", new JsonObject().put("users", new JsonObject().put("alice", prefix + tail)));
      assertEquals(prefix + tail, Policy.fromJson(json).auth().users().get("alice"));
    }
  }

  @Test
  void htpasswdUsersAreNotKnownHereSoRulesMayNameAnyone() {
    Policy p =
        Fixtures.policy(
            """
            {"auth": {"required": true, "htpasswd": "/etc/tollgate/htpasswd", "groups": {"staff": ["alice"]}},
             "rules": [{"id": "a", "action": "deny", "users": ["bob"], "groups": ["staff"]}],
             "limits": {"users": {"carol": {"maxTunnels": 1}}}}
            """);
    assertEquals("/etc/tollgate/htpasswd", p.auth().htpasswd());
    assertTrue(p.auth().users().isEmpty());
  }

  @Test
  void aMissingDocumentIsRefusedAsAWhole() {
    PolicyException e = assertThrows(PolicyException.class, () -> Policy.fromJson(null));
    assertEquals("", e.path());
    assertEquals(e.problem(), e.getMessage());
  }
}
