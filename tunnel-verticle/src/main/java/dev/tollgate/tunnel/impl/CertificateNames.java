package dev.tollgate.tunnel.impl;

import dev.tollgate.common.IpLiterals;
import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Whether a server certificate is valid for a name, by the rules browsers apply (RFC 6125 and the
 * CA/Browser Forum's): DNS names match {@code dNSName} SANs case-insensitively, a wildcard only as
 * the whole leftmost label and never for a public suffix's direct child; IP addresses match
 * {@code iPAddress} SANs only. The subject CN is not consulted: every public CA has put the names
 * in SANs for years, and a CN fallback is how name checks go wrong.
 */
public final class CertificateNames {
  private static final int DNS = 2;
  private static final int IP = 7;

  private CertificateNames() {}

  /** Whether {@code cert} names {@code name} (a DNS name or an IP literal). */
  public static boolean matches(X509Certificate cert, String name) {
    InetAddress ip = IpLiterals.parse(name);
    String wanted = ip != null ? null : normalize(name);
    for (List<?> san : sans(cert)) {
      int type = (Integer) san.get(0);
      if (ip != null && type == IP && ip.equals(IpLiterals.parse(String.valueOf(san.get(1))))) {
        return true;
      }
      if (ip == null && type == DNS && dnsMatches(normalize(String.valueOf(san.get(1))), wanted)) {
        return true;
      }
    }
    return false;
  }

  /** The DNS and IP names of {@code cert}, for messages. */
  public static List<String> names(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    for (List<?> san : sans(cert)) {
      int type = (Integer) san.get(0);
      if (type == DNS || type == IP) {
        out.add(String.valueOf(san.get(1)));
      }
    }
    return out;
  }

  static boolean dnsMatches(String pattern, String name) {
    if (!pattern.startsWith("*.")) {
      return pattern.equals(name);
    }
    String suffix = pattern.substring(1); // ".example.com"
    // A wildcard covers exactly one label, and needs at least two labels after it.
    if (suffix.indexOf('.', 1) < 0 || !name.endsWith(suffix)) {
      return false;
    }
    String label = name.substring(0, name.length() - suffix.length());
    return !label.isEmpty() && label.indexOf('.') < 0;
  }

  private static String normalize(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  private static Collection<List<?>> sans(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      return sans == null ? List.of() : sans;
    } catch (CertificateParsingException e) {
      return List.of();
    }
  }
}
