package dev.tollgate.mitm;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Test-side PKI: the JDK's validators, and certificates the code under test must not make. */
public final class Pki {
  private Pki() {}

  /** Validates {@code path} (leaf first, anchor excluded) with the JDK's PKIX validator. */
  public static PKIXCertPathValidatorResult validate(List<X509Certificate> path, X509Certificate anchor) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
    params.setRevocationEnabled(false);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    return (PKIXCertPathValidatorResult) CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(path), params);
  }

  /** Validates a minted leaf against its CA as the trust anchor. */
  public static PKIXCertPathValidatorResult validate(LeafCertificate leaf, X509Certificate anchor) throws Exception {
    return validate(List.of(leaf.certificate()), anchor);
  }

  /** Trust managers that trust {@code ca} and nothing else: the JDK's own PKIX trust manager. */
  public static TrustManager[] trustOnly(X509Certificate ca) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(store);
    return tmf.getTrustManagers();
  }

  /**
   * A fresh unconstrained root and a copy of {@code ca} (same subject, key and extensions) that
   * the root signs: {@code [crossCertificate, root]}. The JDK ignores name constraints in a trust
   * anchor, so tests put the CA one level down, where the JDK enforces them as clients that honour
   * constraints in roots (OpenSSL, NSS, Chrome) do at the top.
   */
  public static X509Certificate[] crossSigned(X509Certificate ca) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair rootKeys = generator.generateKeyPair();
    X500Name rootName = new X500Name("CN=Test root, O=Tollgate tests");
    Instant now = Instant.now();
    X509v3CertificateBuilder root =
        new JcaX509v3CertificateBuilder(rootName, BigInteger.ONE, Date.from(now.minus(Duration.ofDays(1))),
            Date.from(now.plus(Duration.ofDays(30))), rootName, rootKeys.getPublic());
    root.addExtension(Extension.basicConstraints, true, new BasicConstraints(1));
    X509CertificateHolder caHolder = new X509CertificateHolder(ca.getEncoded());
    X509v3CertificateBuilder cross =
        new JcaX509v3CertificateBuilder(rootName, BigInteger.TWO, ca.getNotBefore(), ca.getNotAfter(),
            X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), ca.getPublicKey());
    for (Object o : caHolder.getExtensionOIDs()) {
      ASN1ObjectIdentifier oid = (ASN1ObjectIdentifier) o;
      cross.copyAndAddExtension(oid, caHolder.getExtension(oid).isCritical(), caHolder);
    }
    return new X509Certificate[] {sign(cross, rootKeys.getPrivate()), sign(root, rootKeys.getPrivate())};
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
  }

  /** PEM as openssl's traditional writers produce it (SEC1 for EC, PKCS#1 for RSA keys). */
  public static String traditionalPem(Object object) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }

  /** A PKCS#8 key encrypted with a password, as {@code openssl pkcs8 -topk8} writes it. */
  public static String encryptedPem(PrivateKey key) throws Exception {
    OutputEncryptor encryptor =
        new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC).setProvider(new BouncyCastleProvider()).setPassword("secret".toCharArray()).build();
    return traditionalPem(new JcaPKCS8Generator(key, encryptor).generate());
  }

  public static boolean sameBytes(X509Certificate a, X509Certificate b) throws Exception {
    return Arrays.equals(a.getEncoded(), b.getEncoded());
  }
}
