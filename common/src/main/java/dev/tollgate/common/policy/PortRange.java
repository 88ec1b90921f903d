package dev.tollgate.common.policy;

/**
 * Target ports a rule matches: one port or an inclusive range. Written as a number ({@code 443}) or
 * a string ({@code "8000-8999"}).
 *
 * @param from the lowest port, 1-65535
 * @param to the highest port, {@code from}-65535
 */
public record PortRange(int from, int to) {

  public PortRange {
    if (from < 1 || to > 65535 || from > to) {
      throw new IllegalArgumentException("ports are 1-65535 and a range goes low-high, got " + from + "-" + to);
    }
  }

  /** Whether {@code port} lies in the range. */
  public boolean contains(int port) {
    return port >= from && port <= to;
  }

  /** The document form: the number for one port, {@code "A-B"} for a range. */
  public Object toJson() {
    return from == to ? (Object) from : from + "-" + to;
  }

  /** Reads a port or a range at {@code path}. */
  static PortRange read(Object value, String path) {
    if (value instanceof Number) {
      int p = (int) Json.whole(value, path, 1, 65535);
      return new PortRange(p, p);
    }
    if (value instanceof String s) {
      int dash = s.indexOf('-');
      int from = port(dash < 0 ? s : s.substring(0, dash), path, s);
      int to = dash < 0 ? from : port(s.substring(dash + 1), path, s);
      if (from > to) {
        throw new PolicyException(path, "a range goes low-high, got '" + s + "'");
      }
      return new PortRange(from, to);
    }
    throw new PolicyException(path, "expected a port 1-65535 or a range such as \"8000-8999\", got " + Json.describe(value));
  }

  private static int port(String text, String path, String whole) {
    String t = text.trim();
    if (t.isEmpty() || t.length() > 5 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new PolicyException(path, "expected a port 1-65535 or a range such as \"8000-8999\", got '" + whole + "'");
    }
    int p = Integer.parseInt(t);
    if (p < 1 || p > 65535) {
      throw new PolicyException(path, "ports are 1-65535, got '" + whole + "'");
    }
    return p;
  }
}
