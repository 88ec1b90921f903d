package dev.tollgate.common;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/** Reads durations as written in config: {@code 250ms}, {@code 10s}, {@code 5m}, {@code 1h}, ISO-8601, or seconds. */
public final class Durations {
  private Durations() {}

  /** Parses {@code value} for {@code key}; zero and negative durations are refused. */
  public static Duration parse(String key, Object value) {
    Duration d;
    if (value instanceof Number n) {
      d = Duration.ofMillis(Math.round(n.doubleValue() * 1000));
    } else if (value instanceof String s) {
      d = parseText(key, s.trim());
    } else {
      throw new ConfigException(key, "expected a duration such as 10s, got " + value);
    }
    if (d.isZero() || d.isNegative()) {
      throw new ConfigException(key, "must be positive, got " + value);
    }
    return d;
  }

  /** Like {@link #parse} but also accepts zero ({@code 0}, {@code 0s}): for delays that may be off. */
  public static Duration parseZeroOrPositive(String key, Object value) {
    Duration d;
    if (value instanceof Number n) {
      d = Duration.ofMillis(Math.round(n.doubleValue() * 1000));
    } else if (value instanceof String s) {
      d = s.trim().equals("0") ? Duration.ZERO : parseText(key, s.trim());
    } else {
      throw new ConfigException(key, "expected a duration such as 10s, got " + value);
    }
    if (d.isNegative()) {
      throw new ConfigException(key, "must not be negative, got " + value);
    }
    return d;
  }

  private static Duration parseText(String key, String s) {
    try {
      if (s.startsWith("P") || s.startsWith("p")) {
        return Duration.parse(s);
      }
      int i = 0;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
        i++;
      }
      if (i == 0) {
        throw new ConfigException(key, "expected a duration such as 10s, got " + s);
      }
      double amount = Double.parseDouble(s.substring(0, i));
      String unit = s.substring(i).trim();
      double millis =
          switch (unit) {
            case "ms" -> amount;
            case "", "s" -> amount * 1000;
            case "m" -> amount * 60_000;
            case "h" -> amount * 3_600_000;
            case "d" -> amount * 86_400_000;
            default -> throw new ConfigException(key, "unknown unit '" + unit + "' in " + s);
          };
      return Duration.ofMillis(Math.round(millis));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new ConfigException(key, "expected a duration such as 10s, got " + s);
    }
  }

  /** The shortest text that reads back as {@code d}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms == 0) return "0s";
    if (ms % 3_600_000 == 0) return ms / 3_600_000 + "h";
    if (ms % 60_000 == 0) return ms / 60_000 + "m";
    if (ms % 1000 == 0) return ms / 1000 + "s";
    return ms + "ms";
  }
}
