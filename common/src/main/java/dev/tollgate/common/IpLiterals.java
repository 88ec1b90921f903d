package dev.tollgate.common;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Parses IP literals without ever asking DNS.
 *
 * <p>IPv4 is read the way {@code inet_aton} reads it, so that odd encodings ({@code 2130706433},
 * {@code 0x7f000001}, {@code 0177.0.0.1}, {@code 127.1}) are recognised as the addresses the
 * system resolver would make of them, and cannot dodge an address check.
 */
public final class IpLiterals {

  private IpLiterals() {}

  /** The address written in {@code text}, or {@code null} when it is not an IP literal (a name). */
  public static InetAddress parse(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    String t = text;
    if (t.startsWith("[") && t.endsWith("]")) {
      t = t.substring(1, t.length() - 1);
    }
    if (t.indexOf(':') >= 0) {
      return parseV6(t);
    }
    byte[] v4 = parseV4(t);
    if (v4 == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(v4);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** Whether {@code text} is an IP literal in any encoding. */
  public static boolean isLiteral(String text) {
    return parse(text) != null;
  }

  private static InetAddress parseV6(String t) {
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
      if (!ok) {
        return null; // zone ids and anything else are refused
      }
    }
    try {
      // A string with ':' is only ever parsed as an IPv6 literal by the JDK: no lookup happens.
      InetAddress[] all = InetAddress.getAllByName(t);
      return all.length == 1 ? all[0] : null;
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static byte[] parseV4(String t) {
    if (t.endsWith(".")) {
      return null;
    }
    String[] parts = t.split("\\.", -1);
    if (parts.length < 1 || parts.length > 4) {
      return null;
    }
    long[] values = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      long v = parseNumber(parts[i]);
      if (v < 0) {
        return null;
      }
      values[i] = v;
    }
    long address = 0;
    int n = parts.length;
    for (int i = 0; i < n - 1; i++) {
      if (values[i] > 255) {
        return null;
      }
      address |= values[i] << (8 * (3 - i));
    }
    long last = values[n - 1];
    long lastMax = (1L << (8 * (5 - n))) - 1;
    if (last > lastMax) {
      return null;
    }
    address |= last;
    return new byte[] {
      (byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address
    };
  }

  /** A decimal, octal (leading 0) or hex (0x) number; -1 when it is none of them. */
  private static long parseNumber(String s) {
    if (s.isEmpty() || s.length() > 12) {
      return -1;
    }
    int radix = 10;
    String digits = s;
    if (s.length() > 1 && (s.startsWith("0x") || s.startsWith("0X"))) {
      radix = 16;
      digits = s.substring(2);
      if (digits.isEmpty()) {
        return 0; // inet_aton accepts a bare 0x
      }
    } else if (s.length() > 1 && s.charAt(0) == '0') {
      radix = 8;
      digits = s.substring(1);
    }
    long v = 0;
    for (int i = 0; i < digits.length(); i++) {
      int d = Character.digit(digits.charAt(i), radix);
      if (d < 0) {
        return -1;
      }
      v = v * radix + d;
    }
    return v;
  }
}
