package dev.tollgate.mitm.impl;

import dev.tollgate.mitm.KeyAlgorithm;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Base64;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The crypto primitives, in one place so that the provider choice is made once.
 *
 * <p>Key generation and signing use a private BouncyCastle provider instance (never registered
 * with {@link java.security.Security}, so the rest of the JVM is unaffected): on JDK 17 it mints
 * an EC P-256 leaf in about half the time of SunEC. What leaves this package is converted to
 * JDK objects (SunEC/SunRsaSign keys, the JDK's X.509 certificates), because those are what
 * JSSE and Netty are tested with.
 */
public final class Crypto {
  private static final Provider BC = new BouncyCastleProvider();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder PEM_BASE64 = Base64.getMimeEncoder(64, new byte[] {'\n'});

  private Crypto() {}

  /** The private BouncyCastle provider, for PEM key conversion. */
  static Provider provider() {
    return BC;
  }

  /** A fresh key pair (BouncyCastle objects; the CA keeps them, leaves convert them). */
  static KeyPair generate(KeyAlgorithm algorithm) throws GeneralSecurityException {
    KeyPairGenerator generator;
    if (algorithm == KeyAlgorithm.RSA_2048) {
      generator = KeyPairGenerator.getInstance("RSA", BC);
      generator.initialize(new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), RANDOM);
    } else {
      generator = KeyPairGenerator.getInstance("EC", BC);
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    }
    return generator.generateKeyPair();
  }

  /** The SHA-256 signature algorithm that goes with the key ({@code EC} or {@code RSA}). */
  static String signatureAlgorithm(PublicKey key) {
    return signatureAlgorithm(key.getAlgorithm());
  }

  static String signatureAlgorithm(String keyAlgorithm) {
    return switch (keyAlgorithm) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> throw new IllegalArgumentException("unsupported key algorithm " + keyAlgorithm + " (EC or RSA only)");
    };
  }

  /** A signer for one certificate: {@link ContentSigner}s are not thread-safe, so never share one. */
  static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
    return new JcaContentSignerBuilder(signatureAlgorithm(key.getAlgorithm())).setProvider(BC).build(key);
  }

  /** A positive random serial of 127 bits: unpredictable, and never needs a counter on disk. */
  static BigInteger serial() {
    return new BigInteger(127, RANDOM).setBit(126);
  }

  /** Signs and verifies a random challenge: the one check that works for every key encoding. */
  static boolean keysMatch(PrivateKey privateKey, PublicKey publicKey) throws GeneralSecurityException {
    byte[] challenge = new byte[32];
    RANDOM.nextBytes(challenge);
    Signature signer = Signature.getInstance(signatureAlgorithm(privateKey.getAlgorithm()), BC);
    signer.initSign(privateKey);
    signer.update(challenge);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(signatureAlgorithm(publicKey), BC);
    verifier.initVerify(publicKey);
    verifier.update(challenge);
    return verifier.verify(signature);
  }

  /** The JDK's own certificate object for DER bytes. */
  static X509Certificate certificate(byte[] der) throws GeneralSecurityException {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  /** The same private key as a JDK provider's object, which JSSE signs with without translation. */
  static PrivateKey jdkKey(PrivateKey key) throws GeneralSecurityException {
    String algorithm = key.getAlgorithm().equals("ECDSA") ? "EC" : key.getAlgorithm();
    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
  }

  /** PEM text for one DER object, as openssl writes it (64-column base64, trailing newline). */
  public static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + PEM_BASE64.encodeToString(der) + "\n-----END " + type + "-----\n";
  }
}
