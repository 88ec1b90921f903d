package dev.tollgate.common;

import java.net.InetAddress;
import java.util.Arrays;

/** An IP network in CIDR notation ({@code 10.0.0.0/8}, {@code fd00::/8}); a bare address is a /32 or /128. */
public record Cidr(byte[] network, int prefix) {

  public Cidr {
    network = network.clone();
    if (prefix < 0 || prefix > network.length * 8) {
      throw new IllegalArgumentException("prefix out of range: " + prefix);
    }
  }

  /** Parses {@code address/prefix}; the address must be an IP literal (never a name, never a DNS lookup). */
  public static Cidr parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty CIDR");
    }
    int slash = text.indexOf('/');
    String addr = slash < 0 ? text : text.substring(0, slash);
    InetAddress address = IpLiterals.parse(addr);
    if (address == null) {
      throw new IllegalArgumentException("not an IP address: " + addr);
    }
    byte[] bytes = address.getAddress();
    int prefix = bytes.length * 8;
    if (slash >= 0) {
      String p = text.substring(slash + 1);
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
        throw new IllegalArgumentException("bad prefix in " + text);
      }
      prefix = Integer.parseInt(p);
      if (prefix > bytes.length * 8) {
        throw new IllegalArgumentException("prefix too long in " + text);
      }
    }
    return new Cidr(bytes, prefix);
  }

  /** Whether the address lies in this network; IPv4-mapped IPv6 addresses match IPv4 networks. */
  public boolean contains(InetAddress address) {
    return containsRaw(AddressClassifier.unmapped(address).getAddress());
  }

  /** Whether the raw address bytes lie in this network (no unmapping). */
  boolean containsRaw(byte[] a) {
    if (a.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != network[i]) {
        return false;
      }
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (a[full] & mask) == (network[full] & mask);
  }

  @Override
  public byte[] network() {
    return network.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cidr c && c.prefix == prefix && Arrays.equals(c.network, network);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(network) + prefix;
  }

  @Override
  public String toString() {
    try {
      return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
