package dev.tollgate.common.policy;

import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * The identity a verified client certificate gives, as {@link ClientPattern}s match it: the
 * subject, its common names, and the subject alternative names by kind. Built once per connection
 * from the leaf of the chain the TLS engine verified; never from anything the client merely says.
 *
 * @param subject the subject name (compared canonically, as {@link X500Principal#equals} does)
 * @param commonNames the subject's CN values, as written
 * @param dnsNames DNS SANs, lower-cased, without a trailing dot
 * @param uris URI SANs, as written
 * @param emails email (rfc822Name) SANs, lower-cased
 * @param addresses IP SANs
 */
public record ClientCertificate(
    X500Principal subject,
    List<String> commonNames,
    List<String> dnsNames,
    List<String> uris,
    List<String> emails,
    List<InetAddress> addresses) {

  public ClientCertificate {
    Objects.requireNonNull(subject, "subject");
    commonNames = List.copyOf(commonNames);
    dnsNames = List.copyOf(dnsNames);
    uris = List.copyOf(uris);
    emails = List.copyOf(emails);
    addresses = List.copyOf(addresses);
  }

  /** The identity of the leaf of a verified {@code chain} (leaf first), or null when there is none. */
  public static ClientCertificate ofChain(List<? extends java.security.cert.Certificate> chain) {
    return chain != null && !chain.isEmpty() && chain.get(0) instanceof X509Certificate leaf ? of(leaf) : null;
  }

  /** The identity of {@code leaf}; SANs the JDK cannot read are left out (the subject remains). */
  public static ClientCertificate of(X509Certificate leaf) {
    X500Principal subject = leaf.getSubjectX500Principal();
    List<String> dns = new ArrayList<>();
    List<String> uris = new ArrayList<>();
    List<String> emails = new ArrayList<>();
    List<InetAddress> addresses = new ArrayList<>();
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (!(san.get(1) instanceof String value)) {
            continue;
          }
          switch ((Integer) san.get(0)) {
            case 1 -> emails.add(value.toLowerCase(Locale.ROOT));
            case 2 -> dns.add(HostNames.normal(value));
            case 6 -> uris.add(value);
            case 7 -> {
              InetAddress a = dev.tollgate.common.IpLiterals.parse(value);
              if (a != null) {
                addresses.add(a);
              }
            }
            default -> {}
          }
        }
      }
    } catch (CertificateParsingException e) {
      // An extension the JDK cannot read: the subject alone identifies the client.
    }
    return new ClientCertificate(subject, commonNames(subject), dns, uris, emails, addresses);
  }

  /**
   * The user this certificate's holder is counted as for per-user limits and quotas: the subject's
   * most specific common name (the first in RFC 4514 order), or the whole subject in RFC 4514 form
   * when it has no CN.
   */
  public String userName() {
    return commonNames.isEmpty() ? subject.getName(X500Principal.RFC2253) : commonNames.get(commonNames.size() - 1);
  }

  private static List<String> commonNames(X500Principal subject) {
    List<String> out = new ArrayList<>(1);
    try {
      for (Rdn rdn : new LdapName(subject.getName(X500Principal.RFC2253)).getRdns()) {
        if ("CN".equalsIgnoreCase(rdn.getType()) && rdn.getValue() instanceof String cn) {
          out.add(cn);
        }
      }
    } catch (InvalidNameException e) {
      // The JDK wrote this name itself; it parses. Without CNs only the other patterns match.
    }
    return out;
  }

  /** Names compare as {@link HostPattern}s do: lower case, no trailing dot. */
  static final class HostNames {
    private HostNames() {}

    static String normal(String name) {
      String n = name.toLowerCase(Locale.ROOT);
      return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }
  }
}
