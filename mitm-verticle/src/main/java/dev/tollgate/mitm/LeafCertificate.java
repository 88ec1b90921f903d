package dev.tollgate.mitm;

import dev.tollgate.mitm.impl.Crypto;
import dev.tollgate.mitm.impl.SingleKeyManager;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A minted server certificate with its chain and key, in the forms TLS servers take:
 *
 * <ul>
 *   <li>{@link #keyManager()} for JSSE, and for Vert.x via {@code KeyCertOptions.wrap(keyManager)};
 *   <li>{@link #privateKey()} and {@link #chain()} for Netty's {@code
 *       SslContextBuilder.forServer(PrivateKey, X509Certificate...)};
 *   <li>{@link #toPem()} for {@code PemKeyCertOptions} or files.
 * </ul>
 *
 * Immutable and safe to share between connections and threads.
 */
public final class LeafCertificate {
  private final String name;
  private final X509Certificate[] chain;
  private final PrivateKey privateKey;
  private final SingleKeyManager keyManager;
  private volatile PemKeyPair pem;

  /**
   * @param name the canonical name the leaf was minted for
   * @param chain the leaf first, then the CA (and any CA above it)
   * @param privateKey the leaf's private key
   */
  public LeafCertificate(String name, X509Certificate[] chain, PrivateKey privateKey) {
    if (chain.length == 0) {
      throw new IllegalArgumentException("empty chain");
    }
    this.name = Objects.requireNonNull(name, "name");
    this.chain = chain.clone();
    this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
    this.keyManager = new SingleKeyManager(this.chain, privateKey);
  }

  /** The canonical name (lower-case DNS name, or IP address) the leaf is for. */
  public String name() {
    return name;
  }

  /** The leaf certificate itself. */
  public X509Certificate certificate() {
    return chain[0];
  }

  /** The chain a server sends: the leaf first, then the CA. A copy. */
  public X509Certificate[] chain() {
    return chain.clone();
  }

  /** The leaf's private key (a JDK provider's object, PKCS#8-encodable). */
  public PrivateKey privateKey() {
    return privateKey;
  }

  public Instant notBefore() {
    return chain[0].getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return chain[0].getNotAfter().toInstant();
  }

  /**
   * A key manager that offers this leaf whatever the client asks for, provided the key type fits.
   * It extends {@link X509ExtendedKeyManager} because an {@code SSLEngine} (Netty, Vert.x) only
   * asks the engine variants, which a plain {@code X509KeyManager} would answer with nothing.
   */
  public X509ExtendedKeyManager keyManager() {
    return keyManager;
  }

  /** The chain (leaf first) and the PKCS#8 key as PEM; computed once. */
  public PemKeyPair toPem() {
    PemKeyPair p = pem;
    if (p == null) {
      StringBuilder certs = new StringBuilder();
      try {
        for (X509Certificate c : chain) {
          certs.append(Crypto.pem("CERTIFICATE", c.getEncoded()));
        }
      } catch (CertificateEncodingException e) {
        throw new IllegalStateException("cannot encode the certificate chain", e);
      }
      p = new PemKeyPair(certs.toString(), Crypto.pem("PRIVATE KEY", privateKey.getEncoded()));
      pem = p;
    }
    return p;
  }

  @Override
  public String toString() {
    return "LeafCertificate[" + name + ", serial " + chain[0].getSerialNumber().toString(16) + ", until " + notAfter() + "]";
  }
}
