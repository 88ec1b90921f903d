package dev.tollgate.node;

import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The trust anchors for intercepted upstreams: the JVM's default trust store plus the PEM CAs of
 * {@code mitm.upstreamTrust}, in one PKIX trust manager (which, with host verification on in the
 * client, also checks the name). Nothing here ever trusts less than that.
 */
final class UpstreamTrust {
  private UpstreamTrust() {}

  /** Blocking (file reads). */
  static TrustOptions load(List<Path> extra) throws IOException {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      TrustManagerFactory jvm = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      jvm.init((KeyStore) null);
      int n = 0;
      for (TrustManager tm : jvm.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          for (X509Certificate c : x.getAcceptedIssuers()) {
            store.setCertificateEntry("jvm-" + n++, c);
          }
        }
      }
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (Path file : extra) {
        try (InputStream in = Files.newInputStream(file)) {
          int i = 0;
          for (Certificate c : factory.generateCertificates(in)) {
            store.setCertificateEntry("upstream-" + file.getFileName() + "-" + i++, c);
          }
          if (i == 0) {
            throw new IOException("mitm.upstreamTrust: " + file + " holds no certificate");
          }
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      return TrustOptions.wrap(tmf);
    } catch (GeneralSecurityException e) {
      throw new IOException("mitm.upstreamTrust: " + e.getMessage(), e);
    }
  }
}
