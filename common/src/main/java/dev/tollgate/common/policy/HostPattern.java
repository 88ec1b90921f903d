package dev.tollgate.common.policy;

import dev.tollgate.common.AddressClassifier;
import dev.tollgate.common.Cidr;
import dev.tollgate.common.IpLiterals;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;

/**
 * One entry of a rule's {@code hosts}: an exact name, a {@code *.suffix}, or an IP network.
 *
 * <ul>
 *   <li>{@code ads.example.com} — that name only (any case, with or without a trailing dot).
 *   <li>{@code *.example.com} — any name below {@code example.com} at any depth, but <em>not</em>
 *       {@code example.com} itself: the two usually belong to different owners' intentions (a
 *       company site vs. its tenants' subdomains), and listing both is explicit and cheap.
 *   <li>an IP literal in any encoding {@code inet_aton} accepts ({@code 127.0.0.1},
 *       {@code 0x7f000001}, {@code [::1]}), held as a one-address network; or a CIDR
 *       ({@code 10.0.0.0/8}, {@code fd00::/8}).
 * </ul>
 *
 * <p>Targets written as IPv4-mapped, IPv4-compatible or NAT64 IPv6 addresses are compared as the
 * IPv4 address they carry (so {@code [::ffff:127.0.0.1]} meets a {@code 127.0.0.0/8} rule); an
 * IPv6 network over such addresses therefore matches nothing — write the IPv4 network instead.
 *
 * @param kind which of the three
 * @param name the lower-case name for {@link Kind#EXACT}, the suffix without {@code *.} for
 *     {@link Kind#SUFFIX}; {@code null} for {@link Kind#NETWORK}
 * @param network the network for {@link Kind#NETWORK}, else {@code null}
 */
public record HostPattern(Kind kind, String name, Cidr network) {

  /** The three forms of a host pattern. */
  public enum Kind {
    EXACT,
    SUFFIX,
    NETWORK
  }

  public HostPattern {
    Objects.requireNonNull(kind, "kind");
    if ((kind == Kind.NETWORK) != (network != null) || (kind == Kind.NETWORK) == (name != null)) {
      throw new IllegalArgumentException("a " + kind + " pattern needs " + (kind == Kind.NETWORK ? "a network" : "a name"));
    }
  }

  /**
   * Reads a pattern as written in a rule.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static HostPattern parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty host");
    }
    if (text.indexOf('/') >= 0) {
      return new HostPattern(Kind.NETWORK, null, Cidr.parse(text));
    }
    String t = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    t = t.toLowerCase(Locale.ROOT);
    InetAddress address = IpLiterals.parse(t);
    if (address != null) {
      byte[] bytes = AddressClassifier.unmapped(address).getAddress();
      return new HostPattern(Kind.NETWORK, null, new Cidr(bytes, bytes.length * 8));
    }
    if (t.startsWith("*.")) {
      String suffix = t.substring(2);
      checkName(suffix, text);
      String last = suffix.substring(suffix.lastIndexOf('.') + 1);
      if (last.matches("[0-9]+|0x[0-9a-f]*")) {
        // Below such a suffix some names are IP literals (1.0.0.1 under *.0.1), which match as
        // addresses, never as names: the pattern would promise more than it does.
        throw new IllegalArgumentException("a suffix cannot end in a number: write networks as CIDRs, got " + text);
      }
      return new HostPattern(Kind.SUFFIX, suffix, null);
    }
    checkName(t, text);
    return new HostPattern(Kind.EXACT, t, null);
  }

  /** Whether this pattern matches a target name (lower case, no trailing dot) or address; one of them is null. */
  boolean matches(String targetName, InetAddress targetAddress) {
    return switch (kind) {
      case EXACT -> name.equals(targetName);
      case SUFFIX -> targetName != null && targetName.length() > name.length() + 1
          && targetName.endsWith(name) && targetName.charAt(targetName.length() - name.length() - 1) == '.';
      case NETWORK -> targetAddress != null && network.contains(targetAddress);
    };
  }

  /** The document form; parses back to an equal pattern. */
  @Override
  public String toString() {
    return switch (kind) {
      case EXACT -> name;
      case SUFFIX -> "*." + name;
      case NETWORK -> network.prefix() == network.network().length * 8 ? address(network.network()).getHostAddress() : network.toString();
    };
  }

  private static void checkName(String name, String text) {
    if (name.isEmpty() || name.length() > 253) {
      throw new IllegalArgumentException("expected a host name, *.suffix, IP address or CIDR, got '" + text + "'");
    }
    int labelStart = 0;
    for (int i = 0; i <= name.length(); i++) {
      char c = i < name.length() ? name.charAt(i) : '.';
      if (c == '.') {
        if (i == labelStart || i - labelStart > 63) {
          throw new IllegalArgumentException("empty or over-long label in '" + text + "'");
        }
        labelStart = i + 1;
      } else if (c > 0x7f) {
        throw new IllegalArgumentException("write internationalised names in punycode (xn--...), got '" + text + "'");
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        throw new IllegalArgumentException("'" + c + "' is not allowed in a host name, got '" + text + "'");
      }
    }
  }

  private static InetAddress address(byte[] bytes) {
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // only thrown for a wrong length, which Cidr excludes
    }
  }
}
