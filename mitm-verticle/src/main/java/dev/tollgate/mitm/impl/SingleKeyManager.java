package dev.tollgate.mitm.impl;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager holding one key and its chain. The server side is what matters: each TLS
 * connection gets the one leaf that was minted for its host, so there is nothing to choose
 * except refusing a key type the key is not (JSSE then tries the next type it can use).
 */
public final class SingleKeyManager extends X509ExtendedKeyManager {
  static final String ALIAS = "leaf";
  private final X509Certificate[] chain;
  private final PrivateKey key;
  private final String keyType;

  public SingleKeyManager(X509Certificate[] chain, PrivateKey key) {
    this.chain = chain.clone();
    this.key = key;
    this.keyType = chain[0].getPublicKey().getAlgorithm();
  }

  private String aliasFor(String type) {
    return keyType.equals(type) ? ALIAS : null;
  }

  private String aliasFor(String[] types) {
    if (types != null) {
      for (String t : types) {
        if (keyType.equals(t)) {
          return ALIAS;
        }
      }
    }
    return null;
  }

  @Override
  public String[] getServerAliases(String type, Principal[] issuers) {
    return aliasFor(type) == null ? null : new String[] {ALIAS};
  }

  @Override
  public String chooseServerAlias(String type, Principal[] issuers, Socket socket) {
    return aliasFor(type);
  }

  @Override
  public String chooseEngineServerAlias(String type, Principal[] issuers, SSLEngine engine) {
    return aliasFor(type);
  }

  @Override
  public String[] getClientAliases(String type, Principal[] issuers) {
    return getServerAliases(type, issuers);
  }

  @Override
  public String chooseClientAlias(String[] types, Principal[] issuers, Socket socket) {
    return aliasFor(types);
  }

  @Override
  public String chooseEngineClientAlias(String[] types, Principal[] issuers, SSLEngine engine) {
    return aliasFor(types);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return ALIAS.equals(alias) ? chain.clone() : null;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return ALIAS.equals(alias) ? key : null;
  }
}
