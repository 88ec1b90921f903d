package dev.tollgate.mitm;

/**
 * The key types the CA and its leaves can have. EC P-256 is the default everywhere: a leaf costs
 * about a millisecond to mint, where RSA 2048 key generation costs tens of milliseconds.
 */
public enum KeyAlgorithm {
  /** ECDSA on NIST P-256 (secp256r1), signing with SHA-256. */
  EC_P256,
  /** RSA with a 2048-bit modulus, signing with SHA-256 (PKCS#1 v1.5). */
  RSA_2048
}
