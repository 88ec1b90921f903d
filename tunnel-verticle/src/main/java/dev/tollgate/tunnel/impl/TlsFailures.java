package dev.tollgate.tunnel.impl;

import java.security.cert.CertificateException;

/**
 * The reason a TLS connection to an upstream failed, in words a client can act on. Netty and
 * Vert.x wrap the verdict of the trust manager ("does not match verifyName …", "unable to find
 * valid certification path …") in generic handshake exceptions ("Failed to create SSL
 * connection"); the verdict is what the 502's reason should say.
 */
public final class TlsFailures {
  private TlsFailures() {}

  /** The message of the certificate verdict inside {@code e}, else {@code e}'s own message. */
  public static String reason(Throwable e) {
    int depth = 0;
    for (Throwable t = e; t != null && depth < 10; t = t.getCause(), depth++) {
      if (t instanceof CertificateException && t.getMessage() != null) {
        return t.getMessage();
      }
    }
    return e.getMessage();
  }
}
