package dev.tollgate.common.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The policy's {@code rewrite} section: reading, validation naming the field, round trip, matching. */
class RewritePolicyTest {

  static final String EXAMPLE = """
      {"rewrite": [
        {"hosts": ["API.example.com.", "*.cdn.test", "0x7f000001"], "paths": ["/v1/*", "/health"],
         "request": {"setHeaders": {"X-Debug": "1"}, "removeHeaders": ["Cookie"]},
         "response": {"setHeaders": {"Cache-Control": "no-store"}, "removeHeaders": ["server"],
                      "replace": [{"find": "\\"beta\\":false", "with": "\\"beta\\":true"}, {"find": "x", "with": ""}]}},
        {"response": {"removeHeaders": ["x-powered-by"]}}
      ]}
      """;

  static Policy policy(String json) {
    return Policy.fromJson(new JsonObject(json));
  }

  @Test
  void readsRules() {
    List<RewriteRule> rules = policy(EXAMPLE).rewrite();
    assertEquals(2, rules.size());
    RewriteRule first = rules.get(0);
    assertEquals("[api.example.com, *.cdn.test, 127.0.0.1]", first.hosts().toString());
    assertEquals(List.of("/v1/*", "/health"), first.paths());
    assertEquals(Map.of("x-debug", "1"), first.request().set());
    assertEquals(List.of("cookie"), first.request().remove());
    assertEquals(Map.of("cache-control", "no-store"), first.response().set());
    assertEquals(new RewriteRule.Replace("\"beta\":false", "\"beta\":true"), first.replace().get(0));
    assertTrue(rules.get(1).hosts().isEmpty() && rules.get(1).paths().isEmpty(), "no matchers: every exchange");
  }

  @Test
  void roundTripsAndComparesSemantically() {
    Policy p = policy(EXAMPLE);
    Policy again = Policy.fromJson(p.toJson());
    assertEquals(p, again);
    assertEquals(p.hashCode(), again.hashCode());
    assertEquals(p.toJson(), again.toJson());
    String sameMeaning = EXAMPLE.replace("API.example.com.", "api.example.com").replace("0x7f000001", "127.0.0.1").replace("X-Debug", "x-debug");
    assertEquals(p, policy(sameMeaning));
    assertNotEquals(p, policy(EXAMPLE.replace("no-store", "no-cache")));
    assertEquals(Policy.empty(), policy("{\"rewrite\": []}"));
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource({
    "api.example.com, /v1/users?id=1, 2",
    "API.EXAMPLE.COM., /health, 2",
    "api.example.com, /healthz, 1",
    "api.example.com, /v2/users, 1",
    "a.cdn.test, /v1/, 2",
    "cdn.test, /v1/, 1",
    "127.0.0.1, /health, 2",
    "0x7f000001, /health, 2",
    "example.com, /v1/x, 1",
  })
  void everyMatchingRuleApplies(String host, String path, int expected) {
    assertEquals(expected, policy(EXAMPLE).rewritesFor(host, path).size());
  }

  @Test
  void noRulesIsTheCheapEmptyList() {
    assertEquals(List.of(), Policy.empty().rewritesFor("example.com", "/"));
  }

  @ParameterizedTest(name = "{1} <- {0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          {"rewrite": {}}                                                                            | rewrite                       | expected a list
          {"rewrite": [{}]}                                                                          | rewrite[0]                    | at least one change
          {"rewrite": [{"hosts": ["a..b"], "response": {"removeHeaders": ["server"]}}]}              | rewrite[0].hosts[0]           | label
          {"rewrite": [{"hosts": [], "response": {"removeHeaders": ["server"]}}]}                    | rewrite[0].hosts              | leave the key out
          {"rewrite": [{"paths": ["api/*"], "response": {"removeHeaders": ["server"]}}]}             | rewrite[0].paths[0]           | starts with '/'
          {"rewrite": [{"paths": ["/a/*/b"], "response": {"removeHeaders": ["server"]}}]}            | rewrite[0].paths[0]           | only end
          {"rewrite": [{"paths": ["/a?b=1"], "response": {"removeHeaders": ["server"]}}]}            | rewrite[0].paths[0]           | without query
          {"rewrite": [{"request": {"setHeaders": {"bad name": "1"}}}]}                              | rewrite[0].request.setHeaders.bad name | not allowed in a header name
          {"rewrite": [{"request": {"setHeaders": {"x-a": "1\\r\\nx-b: 2"}}}]}                        | rewrite[0].request.setHeaders.x-a | control characters
          {"rewrite": [{"request": {"setHeaders": {"x-a": 1}}}]}                                     | rewrite[0].request.setHeaders.x-a | expected a string
          {"rewrite": [{"request": {"setHeaders": {"Content-Length": "1"}}}]}                        | rewrite[0].request.setHeaders.Content-Length | cannot be rewritten
          {"rewrite": [{"request": {"removeHeaders": ["host"]}}]}                                    | rewrite[0].request.removeHeaders[0] | cannot be rewritten
          {"rewrite": [{"request": {"setHeaders": {"x-a": "1", "X-A": "2"}}}]}                        | rewrite[0].request.setHeaders.X-A | set twice
          {"rewrite": [{"request": {"setHeaders": {"x-a": "1"}, "removeHeaders": ["X-A"]}}]}         | rewrite[0].request.removeHeaders | both set and removed
          {"rewrite": [{"request": {"replace": [{"find": "a", "with": "b"}]}}]}                      | rewrite[0].request.replace    | unknown key
          {"rewrite": [{"response": {"replace": []}}]}                                               | rewrite[0].response.replace   | replaces nothing
          {"rewrite": [{"response": {"replace": [{"find": "a", "with": "b"}, {"find": "", "with": "b"}]}}]} | rewrite[0].response.replace[1].find | must not be empty
          {"rewrite": [{"response": {"replace": [{"find": "a", "with": "b"}, {"with": "b"}]}}]}      | rewrite[0].response.replace[1].find | required
          {"rewrite": [{"response": {"replace": [{"find": "a"}]}}]}                                  | rewrite[0].response.replace[0].with | required
          {"rewrite": [{"response": {"replace": [{"find": "a", "with": "b", "regex": true}]}}]}      | rewrite[0].response.replace[0].regex | unknown key
          {"rewrite": [{"response": {"removeHeaders": ["server"]}}, {"response": {"setHeader": {}}}]} | rewrite[1].response.setHeader | unknown key
          {"rewrite": [{"host": ["x"], "response": {"removeHeaders": ["server"]}}]}                  | rewrite[0].host               | unknown key
          """)
  void refusesWithPath(String json, String path, String fragment) {
    PolicyException e = assertThrows(PolicyException.class, () -> policy(json));
    assertEquals(path, e.path(), e.getMessage());
    assertTrue(e.problem().contains(fragment), () -> "'" + e.problem() + "' lacks '" + fragment + "'");
  }
}
