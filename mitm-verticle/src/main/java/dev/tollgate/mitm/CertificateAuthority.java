package dev.tollgate.mitm;

import dev.tollgate.mitm.impl.BcCertificateAuthority;
import dev.tollgate.mitm.impl.CaFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;

/**
 * The interception CA: a root that clients are told to trust, and that mints a short-lived
 * server certificate for each host whose TLS is intercepted.
 *
 * <p>BouncyCastle stays behind this interface. Creating, loading and minting all block (key
 * generation, signing, file IO): call them from a worker, or go through {@link LeafCache}, which
 * mints on the executor it is given. Implementations are thread-safe.
 */
public interface CertificateAuthority {
  /** The certificate file in a CA directory (PEM; the CA first, then any CA above it). */
  String CERT_FILE = "ca.pem";

  /** The key file in a CA directory (PKCS#8 PEM, mode 0600). */
  String KEY_FILE = "ca-key.pem";

  /**
   * A new root CA: {@code CN=Tollgate CA <name>, O=Tollgate}, basicConstraints CA:true with
   * pathLen 0 (critical), keyUsage keyCertSign and cRLSign (critical), a subject key identifier,
   * and a critical nameConstraints extension when the options permit only some names.
   */
  static CertificateAuthority create(CaOptions options) {
    return BcCertificateAuthority.create(options);
  }

  /**
   * A CA from PEM text as openssl writes it: the certificate (optionally followed by the CAs above
   * it), and an unencrypted PKCS#8, SEC1 or PKCS#1 key. Only the leaf fields of {@code options}
   * are used.
   *
   * @throws IllegalArgumentException saying what is wrong: unreadable PEM, no key, an encrypted
   *     key, a certificate that is not a CA or is expired, or a key that is not the certificate's
   */
  static CertificateAuthority fromPem(String certificatePem, String privateKeyPem, CaOptions options) {
    return BcCertificateAuthority.fromPem(certificatePem, privateKeyPem, options);
  }

  /**
   * Reads {@link #CERT_FILE} and {@link #KEY_FILE} from {@code dir}.
   *
   * @throws IllegalArgumentException as {@link #fromPem}, the message naming the directory
   */
  static CertificateAuthority load(Path dir, CaOptions options) throws IOException {
    return CaFiles.load(dir, options);
  }

  /**
   * Loads the CA in {@code dir}, or creates one and writes it there when the directory holds
   * neither file. One file without the other is refused rather than overwritten: it may be the
   * half of a CA that clients already trust.
   */
  static CertificateAuthority loadOrCreate(Path dir, CaOptions options) throws IOException {
    return CaFiles.loadOrCreate(dir, options);
  }

  /**
   * Writes {@link #CERT_FILE} and {@link #KEY_FILE} into {@code dir} (created with mode 0700 if
   * absent), each atomically; the key with mode 0600 and first, so that a crash in between leaves
   * no certificate whose key is missing.
   */
  void save(Path dir) throws IOException;

  /** The CA certificate, e.g. a PKIX trust anchor in tests. */
  X509Certificate certificate();

  /** The CA certificate (and any CA above it) as PEM, to hand to clients ({@code GET /v1/ca.pem}). */
  String certificatePem();

  /**
   * A server certificate for {@code name}: a DNS name (dNSName SAN) or an IP literal in any form
   * {@link dev.tollgate.common.IpLiterals} reads (iPAddress SAN). CN is the canonical name,
   * keyUsage digitalSignature (and keyEncipherment for an RSA leaf), EKU serverAuth, an authority
   * key identifier, a fresh key, valid from an hour ago for the configured leaf validity (never
   * past the CA's own expiry).
   *
   * @throws IllegalArgumentException when {@code name} is not a host name or IP literal, or the
   *     CA's name constraints do not permit it
   */
  LeafCertificate mint(String name);

  /** This CA reading time from {@code clock}: for tests and for reproducible validity windows. */
  CertificateAuthority withClock(Clock clock);
}
