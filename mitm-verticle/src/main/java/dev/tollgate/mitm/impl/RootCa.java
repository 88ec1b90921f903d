package dev.tollgate.mitm.impl;

import dev.tollgate.mitm.CaOptions;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;

/** Creates a self-signed root for interception. Blocking (key generation): call from a worker. */
final class RootCa {
  private RootCa() {}

  static CaMaterial create(CaOptions options, Instant now) {
    try {
      KeyPair keys = Crypto.generate(options.getKeyAlgorithm());
      X500Name subject = subject(options.getName());
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              subject,
              Crypto.serial(),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(options.getValidity())),
              subject,
              keys.getPublic());
      // pathLen 0: this CA signs leaves only, never another CA.
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(
          Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
      NameConstraints constraints = CaConstraints.build(options.getPermittedDomains(), options.getPermittedIpRanges());
      if (constraints != null) {
        builder.addExtension(Extension.nameConstraints, true, constraints);
      }
      byte[] der = builder.build(Crypto.signer(keys.getPrivate())).getEncoded();
      return new CaMaterial(List.of(Crypto.certificate(der)), keys.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot create a CA: " + e.getMessage(), e);
    }
  }

  /**
   * {@code CN=Tollgate CA <name>, O=Tollgate}; a random name when none is given. O comes first in
   * the encoding (most general first), so that RFC 4514 text reads CN first.
   */
  static X500Name subject(String name) {
    String suffix = name.isEmpty() ? HexFormat.of().formatHex(Crypto.serial().toByteArray(), 0, 4) : name;
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "Tollgate")
        .addRDN(BCStyle.CN, "Tollgate CA " + suffix)
        .build();
  }
}
