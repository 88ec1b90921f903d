package dev.tollgate.ingress.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Verdict;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hand-written JSON line is exactly what {@code JsonObject#encode} makes of the same fields. */
class AccessLogFormatTest {
  @Test
  void jsonLineMatchesJsonObjectEncoding(@TempDir Path dir) throws Exception {
    AccessLog log = new AccessLog("node \"1\"", AccessLog.Format.JSON, dir.resolve("access.log"));
    try {
      for (String text : List.of("plain", "quote\" back\\slash", "ctl \b\t\n\f\r \u0000\u0001\u001f\u007f", "é ü 漢 \ud83d\ude00", "/slash/", "")) {
        AccessRecord r = new AccessRecord("[::1]:443", "GET").target("https://h/" + text).user(text);
        r.decision(new Decision(Verdict.values()[0], "rule-" + text, "why"));
        String line = log.json(r, 200, 12, 34);
        assertEquals(expected(r, line, 200, 12, 34), line);
        AccessRecord bare = new AccessRecord(text, "POST");
        String bareLine = log.json(bare, 502, 0, 0);
        assertEquals(expected(bare, bareLine, 502, 0, 0), bareLine);
      }
    } finally {
      log.close();
    }
  }

  @Test
  void timeIsInstantToStringWithAndWithoutMillis(@TempDir Path dir) throws Exception {
    AccessLog log = new AccessLog("n", AccessLog.Format.JSON, dir.resolve("access.log"));
    try {
      AccessRecord r = new AccessRecord("c:1", "GET");
      String line = log.json(r, 200, 0, 0);
      assertEquals(Instant.ofEpochMilli(r.startMillis).toString(), new JsonObject(line).getString("time"));
      for (long millis : new long[] {0L, 1_700_000_000_000L, 1_700_000_000_001L, 1_700_000_000_010L, 1_700_000_000_999L, 1_700_000_001_000L}) {
        StringBuilder b = new StringBuilder();
        java.lang.reflect.Method time = AccessLog.class.getDeclaredMethod("time", StringBuilder.class, long.class);
        time.setAccessible(true);
        time.invoke(log, b, millis);
        assertEquals('"' + Instant.ofEpochMilli(millis).toString() + '"', b.toString());
      }
    } finally {
      log.close();
    }
  }

  @Test
  void linesReachTheFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("access.log");
    AccessLog log = new AccessLog("n", AccessLog.Format.JSON, file);
    for (int i = 0; i < 5000; i++) {
      log.log(new AccessRecord("c:1", "GET").target("/" + i), 200, 0, 0);
    }
    log.close();
    List<String> lines = Files.readAllLines(file);
    assertEquals(5000, lines.size());
    assertEquals("/4999", new JsonObject(lines.get(4999)).getString("target"));
  }

  /** What the line was before: a JsonObject encoded by Jackson (durationMs taken from the line under test). */
  private static String expected(AccessRecord r, String line, int status, long up, long down) {
    return new JsonObject()
        .put("time", Instant.ofEpochMilli(r.startMillis).toString())
        .put("node", new JsonObject(line).getString("node"))
        .put("client", r.client)
        .put("user", r.user)
        .put("method", r.method)
        .put("target", r.target)
        .put("decision", r.decision == null ? null : r.decision.action().name().toLowerCase(Locale.ROOT))
        .put("rule", r.decision == null ? null : r.decision.ruleId())
        .put("status", status)
        .put("bytesUp", up)
        .put("bytesDown", down)
        .put("durationMs", new JsonObject(line).getLong("durationMs"))
        .encode();
  }
}
