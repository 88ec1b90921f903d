package dev.tollgate.common;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Classifies a resolved address as public or as one of the ranges a forward proxy must not reach
 * by default (the SSRF check). A pure function: no lookups, no state.
 */
public final class AddressClassifier {

  /** The class of an address; everything but {@link #PUBLIC} is refused unless allowed by CIDR. */
  public enum Kind {
    PUBLIC,
    LOOPBACK,
    PRIVATE,
    CGNAT,
    LINK_LOCAL,
    UNIQUE_LOCAL,
    UNSPECIFIED,
    MULTICAST,
    RESERVED;

    /** The reason text used in denials, e.g. {@code private address (loopback)}. */
    public String reason() {
      return "private address (" + name().toLowerCase().replace('_', '-') + ")";
    }
  }

  private static final Cidr CGNAT = Cidr.parse("100.64.0.0/10");
  private static final Cidr THIS_NET = Cidr.parse("0.0.0.0/8");
  private static final Cidr RESERVED_V4 = Cidr.parse("240.0.0.0/4");
  private static final Cidr BENCHMARK = Cidr.parse("198.18.0.0/15");
  private static final Cidr UNIQUE_LOCAL = Cidr.parse("fc00::/7");
  private static final Cidr NAT64 = Cidr.parse("64:ff9b::/96");

  private AddressClassifier() {}

  /** Classifies {@code address}; IPv4-mapped, IPv4-compatible and NAT64 addresses as their IPv4. */
  public static Kind classify(InetAddress address) {
    InetAddress a = unmapped(address);
    if (a.isAnyLocalAddress()) {
      return Kind.UNSPECIFIED;
    }
    if (a.isLoopbackAddress()) {
      return Kind.LOOPBACK;
    }
    if (a.isLinkLocalAddress()) {
      return Kind.LINK_LOCAL;
    }
    if (a.isMulticastAddress()) {
      return Kind.MULTICAST;
    }
    if (a instanceof Inet4Address) {
      if (a.isSiteLocalAddress()) {
        return Kind.PRIVATE;
      }
      if (CGNAT.contains(a)) {
        return Kind.CGNAT;
      }
      if (THIS_NET.contains(a)) {
        return Kind.UNSPECIFIED;
      }
      if (RESERVED_V4.contains(a) || BENCHMARK.contains(a)) {
        return Kind.RESERVED;
      }
      return Kind.PUBLIC;
    }
    if (UNIQUE_LOCAL.contains(a) || a.isSiteLocalAddress()) {
      return Kind.UNIQUE_LOCAL;
    }
    return Kind.PUBLIC;
  }

  /** Whether {@code address} may be dialed: public, or covered by one of {@code allowed}. */
  public static boolean permitted(InetAddress address, List<Cidr> allowed) {
    if (classify(address) == Kind.PUBLIC) {
      return true;
    }
    for (Cidr c : allowed) {
      if (c.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /** The embedded IPv4 address of an IPv4-mapped/compatible or NAT64 IPv6 address, else itself. */
  public static InetAddress unmapped(InetAddress address) {
    if (!(address instanceof Inet6Address)) {
      return address;
    }
    byte[] b = address.getAddress();
    boolean zero80 = true;
    for (int i = 0; i < 10; i++) {
      zero80 &= b[i] == 0;
    }
    boolean mapped = zero80 && b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    boolean compatible = zero80 && b[10] == 0 && b[11] == 0 && !allZero(b, 12) && !isV6Loopback(b);
    boolean nat64 = NAT64.containsRaw(b);
    if (mapped || compatible || nat64) {
      try {
        return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }
    return address;
  }

  private static boolean allZero(byte[] b, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isV6Loopback(byte[] b) {
    for (int i = 0; i < 15; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[15] == 1;
  }
}
