package dev.tollgate.mitm.impl;

import dev.tollgate.common.Cidr;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.NameConstraintValidatorException;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.asn1.x509.PKIXNameConstraintValidator;

/**
 * The CA's nameConstraints: built from options for a new CA, read back from the certificate of
 * any CA, and checked before minting, so that a leaf the clients would reject is never made.
 */
final class CaConstraints {
  /** RFC 6761 reserves it: permitting only this domain permits no real DNS name. */
  static final String NO_DOMAIN = "invalid";

  private final PKIXNameConstraintValidator validator; // read-only after construction
  private final boolean present;

  private CaConstraints(NameConstraints constraints) {
    validator = new PKIXNameConstraintValidator();
    present = constraints != null;
    if (constraints != null) {
      if (constraints.getPermittedSubtrees() != null) {
        validator.intersectPermittedSubtree(constraints.getPermittedSubtrees());
      }
      if (constraints.getExcludedSubtrees() != null) {
        for (GeneralSubtree excluded : constraints.getExcludedSubtrees()) {
          validator.addExcludedSubtree(excluded);
        }
      }
    }
  }

  /** The constraints in a CA certificate's extensions (none when it has no such extension). */
  static CaConstraints of(Extensions extensions) {
    return new CaConstraints(
        extensions == null ? null : NameConstraints.getInstance(extensions.getExtensionParsedValue(Extension.nameConstraints)));
  }

  /**
   * The extension for a new CA, or {@code null} for an unconstrained one. A permitted list for one
   * name type leaves the other type unconstrained (RFC 5280 4.2.1.10), so the other type is
   * closed explicitly.
   */
  static NameConstraints build(List<String> domains, List<String> ipRanges) {
    if (domains.isEmpty() && ipRanges.isEmpty()) {
      return null;
    }
    List<GeneralSubtree> permitted = new ArrayList<>();
    List<GeneralSubtree> excluded = new ArrayList<>();
    for (String d : domains.isEmpty() ? List.of(NO_DOMAIN) : domains) {
      permitted.add(new GeneralSubtree(new GeneralName(GeneralName.dNSName, d)));
    }
    if (ipRanges.isEmpty()) {
      excluded.add(ipSubtree(Cidr.parse("0.0.0.0/0")));
      excluded.add(ipSubtree(Cidr.parse("::/0")));
    }
    for (String r : ipRanges) {
      permitted.add(ipSubtree(Cidr.parse(r)));
    }
    return new NameConstraints(
        permitted.toArray(GeneralSubtree[]::new), excluded.isEmpty() ? null : excluded.toArray(GeneralSubtree[]::new));
  }

  /** The iPAddress form of a range: network address then mask, host bits cleared. */
  private static GeneralSubtree ipSubtree(Cidr cidr) {
    byte[] network = cidr.network();
    byte[] both = new byte[network.length * 2];
    for (int i = 0; i < network.length; i++) {
      int bits = Math.max(0, Math.min(8, cidr.prefix() - 8 * i));
      byte mask = (byte) (0xff << (8 - bits));
      both[i] = (byte) (network[i] & mask);
      both[network.length + i] = mask;
    }
    return new GeneralSubtree(new GeneralName(GeneralName.iPAddress, new DEROctetString(both)));
  }

  /** Whether the CA certificate carries nameConstraints at all. */
  boolean present() {
    return present;
  }

  /** @throws IllegalArgumentException when the CA may not vouch for {@code name} */
  void check(GeneralName name, String text) {
    if (!present) {
      return;
    }
    try {
      validator.checkPermitted(name);
      validator.checkExcluded(name);
    } catch (NameConstraintValidatorException e) {
      throw new IllegalArgumentException("the CA's name constraints do not permit " + text + ": " + e.getMessage(), e);
    }
  }
}
