package dev.tollgate.common.policy;

import dev.tollgate.common.AddressClassifier;
import dev.tollgate.common.IpLiterals;
import java.net.InetAddress;
import java.util.Locale;

/**
 * A request's target host in the form rules compare against: either a lower-case name without a
 * trailing dot, or an address (IPv4-mapped IPv6 as IPv4). Exactly one of the two is set.
 */
record Target(String name, InetAddress address) {

  /** Normalises {@code host} as the client wrote it; never asks DNS. */
  static Target of(String host) {
    String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    h = h.toLowerCase(Locale.ROOT); // returns h itself when already lower case: no copy on the hot path
    if (!h.isEmpty() && mayBeLiteral(h)) {
      InetAddress a = IpLiterals.parse(withoutZone(h));
      if (a != null) {
        return new Target(null, AddressClassifier.unmapped(a));
      }
    }
    return new Target(h, null);
  }

  /** A cheap filter: every IPv4 encoding starts with a digit, every IPv6 literal holds a colon. */
  private static boolean mayBeLiteral(String h) {
    char c = h.charAt(0);
    return (c >= '0' && c <= '9') || c == '[' || h.indexOf(':') >= 0;
  }

  /** {@code fe80::1%eth0} as {@code fe80::1}: a zone id must not let an address dodge a CIDR rule. */
  private static String withoutZone(String h) {
    int percent = h.indexOf('%');
    if (percent < 0 || h.indexOf(':') < 0) {
      return h;
    }
    int close = h.indexOf(']', percent);
    return h.substring(0, percent) + (close < 0 ? "" : "]");
  }
}
