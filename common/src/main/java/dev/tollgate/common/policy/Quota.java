package dev.tollgate.common.policy;

import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a user may spend per UTC calendar day and month, as written for the default, a group or a
 * user: {@code {bytes: {perDay, perMonth}, requests: {perDay, perMonth}, tunnelSeconds: {perDay}}}.
 * A {@code null} field is not set here and leaves the value below it in force; 0 is unlimited (as in
 * {@link Limits}). Byte amounts may be written with a unit ({@code "10GiB"}, {@code "500MB"}).
 */
public record Quota(Long bytesPerDay, Long bytesPerMonth, Long requestsPerDay, Long requestsPerMonth, Long tunnelSecondsPerDay) {

  /** Nothing set. */
  public static final Quota NONE = new Quota(null, null, null, null, null);

  /** Every field set to unlimited: what applies when the policy sets no quota at all. */
  public static final Quota UNLIMITED = new Quota(0L, 0L, 0L, 0L, 0L);

  private static final Set<String> KEYS = Set.of("bytes", "requests", "tunnelSeconds");
  private static final Set<String> DAY_MONTH = Set.of("perDay", "perMonth");
  private static final Set<String> DAY = Set.of("perDay");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]i?B|B)?", Pattern.CASE_INSENSITIVE);

  public Quota {
    for (Long v : new Long[] {bytesPerDay, bytesPerMonth, requestsPerDay, requestsPerMonth, tunnelSecondsPerDay}) {
      if (v != null && v < 0) {
        throw new IllegalArgumentException("quotas are 0 (unlimited) or positive");
      }
    }
  }

  /** {@code base} with the fields set here replaced. */
  public Quota over(Quota base) {
    return new Quota(
        or(bytesPerDay, base.bytesPerDay),
        or(bytesPerMonth, base.bytesPerMonth),
        or(requestsPerDay, base.requestsPerDay),
        or(requestsPerMonth, base.requestsPerMonth),
        or(tunnelSecondsPerDay, base.tunnelSecondsPerDay));
  }

  /** Field by field, the more generous of the two (unlimited beats any number; see {@link LimitOverride#mostGenerous}). */
  public Quota mostGenerous(Quota o) {
    return new Quota(
        generous(bytesPerDay, o.bytesPerDay),
        generous(bytesPerMonth, o.bytesPerMonth),
        generous(requestsPerDay, o.requestsPerDay),
        generous(requestsPerMonth, o.requestsPerMonth),
        generous(tunnelSecondsPerDay, o.tunnelSecondsPerDay));
  }

  /** Whether any field sets a limit (a resolved quota with everything unlimited is not worth counting against). */
  public boolean limitsAnything() {
    return positive(bytesPerDay) || positive(bytesPerMonth) || positive(requestsPerDay) || positive(requestsPerMonth) || positive(tunnelSecondsPerDay);
  }

  /** The document form: only the fields that are set. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject();
    JsonObject bytes = pair(bytesPerDay, bytesPerMonth);
    JsonObject requests = pair(requestsPerDay, requestsPerMonth);
    if (!bytes.isEmpty()) o.put("bytes", bytes);
    if (!requests.isEmpty()) o.put("requests", requests);
    if (tunnelSecondsPerDay != null) o.put("tunnelSeconds", new JsonObject().put("perDay", tunnelSecondsPerDay));
    return o;
  }

  /** Reads the quota object at {@code path}. */
  static Quota read(Object value, String path) {
    JsonObject o = Json.section(value, path, KEYS);
    String bp = Json.at(path, "bytes");
    String rp = Json.at(path, "requests");
    String tp = Json.at(path, "tunnelSeconds");
    JsonObject bytes = Json.section(o.getValue("bytes"), bp, DAY_MONTH);
    JsonObject requests = Json.section(o.getValue("requests"), rp, DAY_MONTH);
    JsonObject tunnel = Json.section(o.getValue("tunnelSeconds"), tp, DAY);
    return new Quota(
        size(bytes.getValue("perDay"), Json.at(bp, "perDay")),
        size(bytes.getValue("perMonth"), Json.at(bp, "perMonth")),
        count(requests.getValue("perDay"), Json.at(rp, "perDay")),
        count(requests.getValue("perMonth"), Json.at(rp, "perMonth")),
        count(tunnel.getValue("perDay"), Json.at(tp, "perDay")));
  }

  private static Long count(Object v, String path) {
    return v == null ? null : Json.whole(v, path, 0, Long.MAX_VALUE);
  }

  /** A byte amount: a whole number, or a string with a unit (B, KB/MB/GB/TB: powers of 1000; KiB/MiB/GiB/TiB: of 1024). */
  static Long size(Object v, String path) {
    if (!(v instanceof String s)) {
      return count(v, path);
    }
    Matcher m = SIZE.matcher(s.trim());
    if (!m.matches()) {
      throw new PolicyException(path, "expected a byte amount such as 10GiB or 500MB, got " + Json.describe(v));
    }
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    int power = "BKMGT".indexOf(unit.charAt(0));
    long base = unit.contains("I") ? 1024 : 1000;
    try {
      long n = Long.parseLong(m.group(1));
      for (int i = 0; i < power; i++) {
        n = Math.multiplyExact(n, base);
      }
      return n;
    } catch (ArithmeticException | NumberFormatException e) {
      throw new PolicyException(path, "too large: " + Json.describe(v));
    }
  }

  private static JsonObject pair(Long perDay, Long perMonth) {
    JsonObject o = new JsonObject();
    if (perDay != null) o.put("perDay", perDay);
    if (perMonth != null) o.put("perMonth", perMonth);
    return o;
  }

  private static Long or(Long a, Long b) {
    return a != null ? a : b;
  }

  private static boolean positive(Long v) {
    return v != null && v > 0;
  }

  private static Long generous(Long a, Long b) {
    if (a == null || b == null) {
      return a == null ? b : a;
    }
    if (a == 0 || b == 0) {
      return 0L;
    }
    return Math.max(a, b);
  }
}
