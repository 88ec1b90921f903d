package dev.tollgate.common.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code quotas} section: reading, validation naming the field, resolution, round trip. */
class QuotaPolicyTest {
  private static final String AUTH = "\"auth\": {\"users\": {\"alice\": \"$2y$10$abcdefghijklmnopqrstuv0123456789ABCDEFGHIJKLMNOPQRSTU\"}, \"groups\": {\"staff\": [\"alice\"], \"ops\": [\"alice\"]}}";

  private static Policy read(String quotas) {
    return Policy.fromJson(new JsonObject("{" + AUTH + ", \"quotas\": " + quotas + "}"));
  }

  @ParameterizedTest(name = "{1} <- {0}")
  @CsvSource(delimiter = '|', textBlock = """
      {"default": {"bytes": {"perWeek": 1}}}                    | quotas.default.bytes.perWeek | unknown key
      {"default": {"volume": 1}}                                | quotas.default.volume        | unknown key
      {"default": {"bytes": {"perDay": -1}}}                    | quotas.default.bytes.perDay  | between
      {"default": {"bytes": {"perDay": "10 parsecs"}}}          | quotas.default.bytes.perDay  | byte amount
      {"default": {"bytes": {"perDay": "99999999999TiB"}}}      | quotas.default.bytes.perDay  | too large
      {"default": {"requests": {"perDay": 1.5}}}                | quotas.default.requests.perDay | whole number
      {"default": {"tunnelSeconds": {"perMonth": 5}}}           | quotas.default.tunnelSeconds.perMonth | unknown key
      {"users": {"mallory": {"requests": {"perDay": 5}}}}       | quotas.users.mallory         | unknown user
      {"groups": {"nobody": {"requests": {"perDay": 5}}}}       | quotas.groups.nobody         | unknown group
      {"users": {"alice": 5}}                                   | quotas.users.alice           | object
      """)
  void badQuotasAreRefusedNamingTheField(String quotas, String path, String message) {
    PolicyException e = assertThrows(PolicyException.class, () -> read(quotas));
    assertEquals(path, e.path(), e.getMessage());
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  @Test
  void byteAmountsTakeUnits() {
    Quota q = read("{\"default\": {\"bytes\": {\"perDay\": \"10GiB\", \"perMonth\": \"500MB\"}}}").quotaFor(null);
    assertEquals(10L << 30, q.bytesPerDay());
    assertEquals(500_000_000L, q.bytesPerMonth());
    assertEquals(0L, q.requestsPerDay(), "unset fields are unlimited");
  }

  @Test
  void resolutionIsDefaultThenMostGenerousGroupThenUser() {
    Policy p = read("""
        {"default": {"requests": {"perDay": 100}, "bytes": {"perDay": 1000}},
         "groups": {"staff": {"requests": {"perDay": 500}}, "ops": {"requests": {"perDay": 0}, "bytes": {"perDay": 10}}},
         "users": {"alice": {"bytes": {"perDay": 5}}}}""");
    Quota alice = p.quotaFor("alice");
    assertEquals(0L, alice.requestsPerDay(), "unlimited (ops) beats 500 (staff)");
    assertEquals(5L, alice.bytesPerDay(), "her own value last");
    Quota anonymous = p.quotaFor(null);
    assertEquals(100L, anonymous.requestsPerDay());
    assertEquals(1000L, anonymous.bytesPerDay());
  }

  @Test
  void roundTripAndEquality() {
    Policy p = read("{\"default\": {\"bytes\": {\"perDay\": \"1KiB\"}, \"tunnelSeconds\": {\"perDay\": 60}}, \"users\": {\"alice\": {\"requests\": {\"perMonth\": 7}}}}");
    Policy again = Policy.fromJson(p.toJson());
    assertEquals(p, again);
    assertEquals(1024L, again.toJson().getJsonObject("quotas").getJsonObject("default").getJsonObject("bytes").getLong("perDay"));
    assertTrue(p.quotas().any());
    assertFalse(Policy.empty().quotas().any());
    assertEquals(Quota.UNLIMITED, Policy.empty().quotaFor("anyone"));
  }
}
