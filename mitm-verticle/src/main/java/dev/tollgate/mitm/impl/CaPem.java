package dev.tollgate.mitm.impl;

import java.io.IOException;
import java.io.StringReader;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads a CA from PEM and refuses anything that could not work as one, saying why: openssl's
 * outputs are all accepted (PKCS#8 {@code PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY} with or
 * without {@code EC PARAMETERS}, PKCS#1 {@code RSA PRIVATE KEY}); encrypted keys are not, because
 * a proxy that starts unattended has nowhere to get a passphrase from.
 */
final class CaPem {
  private CaPem() {}

  /** @throws IllegalArgumentException naming what is wrong with the certificate or the key */
  static CaMaterial parse(String certificatePem, String keyPem, Instant now) {
    List<X509Certificate> chain = certificates(certificatePem);
    PrivateKey key = privateKey(keyPem);
    check(chain.get(0), key, now);
    return new CaMaterial(chain, key);
  }

  /** Every certificate in the text, in order; the first is the CA that signs. */
  static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof X509CertificateHolder holder) {
          out.add(Crypto.certificate(holder.getEncoded()));
        }
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("the CA certificate PEM cannot be read: " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("the CA certificate PEM holds no CERTIFICATE block");
    }
    return out;
  }

  /** The first private key in the text. */
  static PrivateKey privateKey(String pem) {
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter().setProvider(Crypto.provider());
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        } else if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        } else if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
          throw new IllegalArgumentException(
              "the CA key is encrypted; store it unencrypted with mode 0600 (openssl pkey -in key.pem -out ca-key.pem)");
        } else if (!(o instanceof ASN1ObjectIdentifier)) { // EC PARAMETERS precede SEC1 keys
          throw new IllegalArgumentException("the CA key PEM holds a " + o.getClass().getSimpleName() + " where a private key was expected");
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("the CA key PEM cannot be read: " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("the CA key PEM holds no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block");
  }

  /** That the certificate is a usable CA right now, and that the key is its key. */
  static void check(X509Certificate cert, PrivateKey key, Instant now) {
    String who = "the CA certificate (" + cert.getSubjectX500Principal().getName() + ")";
    if (cert.getBasicConstraints() < 0) {
      throw new IllegalArgumentException(who + " is not a CA: it lacks basicConstraints CA:true");
    }
    boolean[] usage = cert.getKeyUsage();
    if (usage != null && !usage[5]) {
      throw new IllegalArgumentException(who + " may not sign certificates: its keyUsage lacks keyCertSign");
    }
    if (now.isAfter(cert.getNotAfter().toInstant())) {
      throw new IllegalArgumentException(who + " expired on " + cert.getNotAfter().toInstant());
    }
    if (now.isBefore(cert.getNotBefore().toInstant())) {
      throw new IllegalArgumentException(who + " is not valid before " + cert.getNotBefore().toInstant() + " (check the clock)");
    }
    String keyAlg = key.getAlgorithm().equals("ECDSA") ? "EC" : key.getAlgorithm();
    String certAlg = cert.getPublicKey().getAlgorithm();
    if (!keyAlg.equals(certAlg)) {
      throw new IllegalArgumentException("the CA key does not match " + who + ": the key is " + keyAlg + ", the certificate's is " + certAlg);
    }
    try {
      if (!Crypto.keysMatch(key, cert.getPublicKey())) {
        throw new IllegalArgumentException("the CA key does not match " + who + ": it is the key of another certificate");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the CA key does not match " + who + ": " + e.getMessage(), e);
    }
  }
}
