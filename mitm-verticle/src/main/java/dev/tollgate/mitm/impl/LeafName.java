package dev.tollgate.mitm.impl;

import dev.tollgate.common.IpLiterals;
import java.net.InetAddress;
import java.util.Locale;

/**
 * A name a leaf can be minted for, in canonical form: a lower-case DNS name without a trailing
 * dot, or an IP address as {@link InetAddress#getHostAddress()} writes it.
 *
 * <p>Canonical form matters twice: the cache must not mint twice for {@code Example.com.} and
 * {@code example.com}, and an IP written oddly ({@code 2130706433}) must end up in the
 * certificate as the address a client will compare against, not as text.
 *
 * @param text the canonical name, also the cache key and the certificate's CN
 * @param address the address for an IP literal, {@code null} for a DNS name
 */
public record LeafName(String text, InetAddress address) {
  private static final int MAX_NAME = 253;
  private static final int MAX_LABEL = 63;

  /** Whether this is an IP literal (an iPAddress SAN) rather than a DNS name (a dNSName SAN). */
  public boolean isIp() {
    return address != null;
  }

  /**
   * Parses and canonicalises {@code name}.
   *
   * @throws IllegalArgumentException naming what is wrong, for anything that is neither an IP
   *     literal nor a plain ASCII DNS name (wildcards and Unicode names included)
   */
  public static LeafName parse(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("empty host name");
    }
    InetAddress address = IpLiterals.parse(name);
    if (address != null) {
      return new LeafName(address.getHostAddress(), address);
    }
    String dns = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    dns = dns.toLowerCase(Locale.ROOT);
    checkDnsName(name, dns);
    return new LeafName(dns, null);
  }

  /** Checks the syntax certificates and SNI allow: LDH labels (plus '_', seen in the wild). */
  static void checkDnsName(String original, String dns) {
    if (dns.isEmpty() || dns.length() > MAX_NAME) {
      throw new IllegalArgumentException("not a host name (1 to 253 characters): " + original);
    }
    for (String label : dns.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > MAX_LABEL) {
        throw new IllegalArgumentException("bad label (1 to 63 characters) in host name: " + original);
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) {
          throw new IllegalArgumentException(
              "bad character '" + c + "' in host name " + original + " (use the xn-- form for Unicode; no wildcards)");
        }
      }
    }
  }
}
