package dev.tollgate.common.policy;

import dev.tollgate.common.Cidr;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;

/**
 * One entry of a rule's {@code clients} matcher: which verified client certificates it matches.
 *
 * <ul>
 *   <li>{@code *}: any verified certificate;
 *   <li>{@code subject:CN=alice,O=Example}: the subject name, compared canonically (RFC 4514);
 *   <li>{@code cn:alice}: a common name of the subject, exactly;
 *   <li>{@code dns:alice.example.com} or {@code dns:*.example.com}: a DNS SAN, as host patterns match;
 *   <li>{@code uri:spiffe://example.com/alice}, or {@code uri:spiffe://example.com/*} for a prefix: a URI SAN;
 *   <li>{@code email:alice@example.com}: an email SAN, case-insensitively;
 *   <li>{@code ip:10.0.0.7} or {@code ip:10.0.0.0/8}: an IP SAN.
 * </ul>
 *
 * @param kind what part of the certificate is compared
 * @param value the pattern's value as read (lower-cased where the comparison ignores case)
 */
public record ClientPattern(Kind kind, String value, X500Principal subject, Cidr network) {

  /** The part of the certificate a pattern looks at. */
  public enum Kind {
    ANY(""),
    SUBJECT("subject"),
    CN("cn"),
    DNS("dns"),
    URI("uri"),
    EMAIL("email"),
    IP("ip");

    final String prefix;

    Kind(String prefix) {
      this.prefix = prefix;
    }
  }

  public ClientPattern {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(value, "value");
  }

  /**
   * Parses {@code text}; an unknown kind, an empty value or a malformed name, address or wildcard
   * is refused with a message saying what is expected.
   */
  public static ClientPattern parse(String text) {
    if ("*".equals(text)) {
      return new ClientPattern(Kind.ANY, "*", null, null);
    }
    int colon = text.indexOf(':');
    Kind kind = null;
    if (colon > 0) {
      String prefix = text.substring(0, colon).toLowerCase(Locale.ROOT);
      for (Kind k : Kind.values()) {
        if (k != Kind.ANY && k.prefix.equals(prefix)) {
          kind = k;
        }
      }
    }
    if (kind == null) {
      throw new IllegalArgumentException(
          "expected *, subject:DN, cn:NAME, dns:NAME, uri:URI, email:ADDRESS or ip:ADDRESS[/BITS], got '" + text + "'");
    }
    String value = text.substring(colon + 1);
    if (value.isEmpty()) {
      throw new IllegalArgumentException("the " + kind.prefix + ": pattern has no value");
    }
    return switch (kind) {
      case SUBJECT -> {
        try {
          yield new ClientPattern(kind, value, new X500Principal(value), null);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("not a distinguished name such as CN=alice,O=Example: '" + value + "'");
        }
      }
      case DNS -> {
        String name = ClientCertificate.HostNames.normal(value);
        String bare = name.startsWith("*.") ? name.substring(2) : name;
        if (bare.isEmpty() || bare.contains("*") || bare.startsWith(".") || bare.contains("..")) {
          throw new IllegalArgumentException("expected a DNS name or *.suffix, got '" + value + "'");
        }
        yield new ClientPattern(kind, name, null, null);
      }
      case URI -> {
        if (value.indexOf('*') >= 0 && value.indexOf('*') != value.length() - 1) {
          throw new IllegalArgumentException("a uri: pattern may only end in * (a prefix), got '" + value + "'");
        }
        yield new ClientPattern(kind, value, null, null);
      }
      case EMAIL -> new ClientPattern(kind, value.toLowerCase(Locale.ROOT), null, null);
      case IP -> {
        try {
          yield new ClientPattern(kind, value, null, Cidr.parse(value));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("expected an IP address or CIDR, got '" + value + "'");
        }
      }
      default -> new ClientPattern(kind, value, null, null);
    };
  }

  /** Whether {@code certificate} matches; {@code null} (no verified certificate) never does. */
  public boolean matches(ClientCertificate certificate) {
    if (certificate == null) {
      return false;
    }
    return switch (kind) {
      case ANY -> true;
      case SUBJECT -> subject.equals(certificate.subject());
      case CN -> certificate.commonNames().contains(value);
      case DNS -> certificate.dnsNames().stream().anyMatch(this::matchesName);
      case URI -> value.endsWith("*")
          ? certificate.uris().stream().anyMatch(u -> u.startsWith(value.substring(0, value.length() - 1)))
          : certificate.uris().contains(value);
      case EMAIL -> certificate.emails().contains(value);
      case IP -> certificate.addresses().stream().anyMatch(this::matchesAddress);
    };
  }

  private boolean matchesName(String name) {
    if (value.startsWith("*.")) {
      String suffix = value.substring(1); // ".example.com": any depth below, not the name itself
      return name.length() > suffix.length() && name.endsWith(suffix);
    }
    return name.equals(value);
  }

  private boolean matchesAddress(InetAddress address) {
    return network.contains(address);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClientPattern p && kind == p.kind && toString().equals(p.toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /** The document form, as read (a subject in the canonical RFC 2253 form). */
  @Override
  public String toString() {
    return switch (kind) {
      case ANY -> "*";
      case SUBJECT -> "subject:" + subject.getName(X500Principal.RFC2253);
      case IP -> "ip:" + network;
      default -> kind.prefix + ":" + value;
    };
  }
}
