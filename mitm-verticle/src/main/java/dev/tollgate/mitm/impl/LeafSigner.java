package dev.tollgate.mitm.impl;

import dev.tollgate.mitm.KeyAlgorithm;
import dev.tollgate.mitm.LeafCertificate;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.OperatorCreationException;

/**
 * Signs server leaves with one CA. It does no policy: callers check names against the CA's
 * constraints first (tests use it directly to make leaves a constrained CA must not make).
 * Thread-safe; blocking (key generation and signing).
 */
final class LeafSigner {
  /** X.520 caps a CN at 64 characters; longer names live in the SAN alone. */
  private static final int MAX_CN = 64;

  private final CaMaterial ca;
  private final X500Name issuer;
  private final AuthorityKeyIdentifier authorityKeyId;

  LeafSigner(CaMaterial ca) {
    this.ca = ca;
    // The issuer's exact encoding, so that chain building matches it byte for byte.
    this.issuer = X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
    this.authorityKeyId = authorityKeyId(ca.certificate());
  }

  /** A leaf for {@code name}, valid from {@code notBefore} to {@code notAfter}. */
  LeafCertificate sign(LeafName name, KeyAlgorithm keyAlgorithm, Instant notBefore, Instant notAfter) {
    try {
      KeyPair keys = Crypto.generate(keyAlgorithm);
      boolean hasCn = name.text().length() <= MAX_CN;
      X500Name subject =
          hasCn ? new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, name.text()).build() : new X500Name(new RDN[0]);
      X509v3CertificateBuilder builder =
          new X509v3CertificateBuilder(
              issuer,
              Crypto.serial(),
              Date.from(notBefore),
              Date.from(notAfter),
              subject,
              SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
      int usage = KeyUsage.digitalSignature | (keyAlgorithm == KeyAlgorithm.RSA_2048 ? KeyUsage.keyEncipherment : 0);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      // RFC 5280 4.2.1.6: with an empty subject the SAN must be critical.
      builder.addExtension(Extension.subjectAlternativeName, !hasCn, new GeneralNames(san(name)));
      builder.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId);
      byte[] der = builder.build(Crypto.signer(ca.key())).getEncoded();
      X509Certificate[] chain = new X509Certificate[ca.chain().size() + 1];
      chain[0] = Crypto.certificate(der);
      for (int i = 0; i < ca.chain().size(); i++) {
        chain[i + 1] = ca.chain().get(i);
      }
      return new LeafCertificate(name.text(), chain, Crypto.jdkKey(keys.getPrivate()));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot mint a certificate for " + name.text() + ": " + e.getMessage(), e);
    }
  }

  /** The SAN entry: iPAddress for an IP literal, dNSName otherwise. */
  static GeneralName san(LeafName name) {
    return name.isIp()
        ? new GeneralName(GeneralName.iPAddress, new DEROctetString(name.address().getAddress()))
        : new GeneralName(GeneralName.dNSName, name.text());
  }

  /** The key identifier alone (no issuer and serial), so a re-issued CA with the same key still chains. */
  private static AuthorityKeyIdentifier authorityKeyId(X509Certificate caCert) {
    try {
      byte[] ski = caCert.getExtensionValue(Extension.subjectKeyIdentifier.getId());
      if (ski != null) {
        byte[] keyId = SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ski).getOctets()).getKeyIdentifier();
        return new AuthorityKeyIdentifier(keyId);
      }
      return new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(caCert.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot derive the CA's key identifier", e);
    }
  }
}
