package dev.tollgate.mitm;

import dev.tollgate.mitm.impl.BcCertificates;
import java.time.Duration;
import java.util.List;

/**
 * Certificate work behind one small interface, so that BouncyCastle stays inside this module.
 * Every method does crypto that blocks: call it from a worker ({@code executeBlocking}).
 */
public interface Certificates {

  /** The BouncyCastle implementation: EC P-256 keys, SecureRandom serials, SHA-256 signatures. */
  static Certificates create() {
    return new BcCertificates();
  }

  /**
   * A self-signed server certificate for the given names (DNS names and IP literals), valid from
   * an hour ago for {@code validity}.
   */
  PemKeyPair selfSigned(String commonName, List<String> names, Duration validity);
}
