package dev.tollgate.mitm;

/**
 * A certificate chain and its private key, both PEM-encoded.
 *
 * @param certificatePem the certificate (leaf first when a chain)
 * @param privateKeyPem the PKCS#8 private key
 */
public record PemKeyPair(String certificatePem, String privateKeyPem) {}
