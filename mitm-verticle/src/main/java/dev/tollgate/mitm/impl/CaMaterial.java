package dev.tollgate.mitm.impl;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A CA certificate with its signing key, already checked to belong together.
 *
 * @param chain the CA certificate first, then any certificates above it (for an intermediate)
 * @param key the CA's private key
 */
record CaMaterial(List<X509Certificate> chain, PrivateKey key) {
  CaMaterial {
    chain = List.copyOf(chain);
  }

  X509Certificate certificate() {
    return chain.get(0);
  }
}
