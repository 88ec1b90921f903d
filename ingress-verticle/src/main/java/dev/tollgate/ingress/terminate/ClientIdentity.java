package dev.tollgate.ingress.terminate;

import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * The verified identity of a client certificate as one header value, in the style of Envoy's
 * {@code x-forwarded-client-cert}: {@code Subject="CN=alice,O=Example";DNS=alice.example;URI=spiffe://x/alice}.
 * Pairs are separated by {@code ;}, the subject is the RFC 4514 name, each subject alternative
 * name is its own pair ({@code DNS}, {@code URI}, {@code Email}, {@code IP}). Values holding
 * {@code , ; = "} or spaces are quoted, and bytes outside printable ASCII are written
 * {@code \XX} (UTF-8), so that the value is always a safe header.
 */
public final class ClientIdentity {
  private ClientIdentity() {}

  /**
   * The identity of the leaf of a verified chain, or null when there is none.
   *
   * @param chain the peer's chain as the TLS engine verified it, leaf first
   */
  public static String of(List<Certificate> chain) {
    if (chain == null || chain.isEmpty() || !(chain.get(0) instanceof X509Certificate leaf)) {
      return null;
    }
    StringBuilder out = new StringBuilder();
    pair(out, "Subject", leaf.getSubjectX500Principal().getName(X500Principal.RFC2253));
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          String key =
              switch ((Integer) san.get(0)) {
                case 1 -> "Email";
                case 2 -> "DNS";
                case 6 -> "URI";
                case 7 -> "IP";
                default -> null;
              };
          if (key != null && san.get(1) instanceof String value) {
            pair(out, key, value);
          }
        }
      }
    } catch (CertificateParsingException e) {
      // A SAN extension the JDK cannot read: the subject alone identifies the client.
    }
    return out.toString();
  }

  private static void pair(StringBuilder out, String key, String value) {
    if (out.length() > 0) {
      out.append(';');
    }
    out.append(key).append('=');
    boolean quote = value.isEmpty();
    StringBuilder v = new StringBuilder();
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c < 0x20 || c > 0x7e) {
        v.append('\\').append(String.format("%02X", c));
      } else {
        if (c == '"' || c == '\\') {
          v.append('\\');
        }
        if (c == ',' || c == ';' || c == '=' || c == ' ' || c == '"') {
          quote = true;
        }
        v.append((char) c);
      }
    }
    out.append(quote ? "\"" + v + "\"" : v);
  }
}
