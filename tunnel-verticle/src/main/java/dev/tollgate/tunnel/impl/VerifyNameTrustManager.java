package dev.tollgate.tunnel.impl;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Checks an upstream's certificate against a fixed name — the configured {@code verifyName} — in
 * addition to everything the JDK's PKIX trust manager checks. It exists because the JDK checks the
 * name it finds in the handshake (the SNI name first, then the peer host), and Tollgate may send
 * one name ({@code sni}) while requiring the certificate to hold another. The engine it runs for
 * has endpoint identification left empty so the JDK does not check a second, different name; the
 * check here replaces it and is never weaker: chain, validity, key usage and algorithm
 * constraints are the delegate's, the name match is {@link CertificateNames}'.
 */
public final class VerifyNameTrustManager extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager pkix;
  private final String verifyName;

  public VerifyNameTrustManager(X509ExtendedTrustManager pkix, String verifyName) {
    this.pkix = pkix;
    this.verifyName = verifyName;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    pkix.checkServerTrusted(chain, authType, engine);
    checkName(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    pkix.checkServerTrusted(chain, authType, socket);
    checkName(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    checkName(chain);
  }

  private void checkName(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the upstream sent no certificate");
    }
    if (!CertificateNames.matches(chain[0], verifyName)) {
      throw new CertificateException(
          "upstream certificate does not match verifyName " + verifyName + " (it names " + CertificateNames.names(chain[0]) + ")");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    throw new CertificateException("an upstream trust manager does not judge clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw new CertificateException("an upstream trust manager does not judge clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("an upstream trust manager does not judge clients");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
