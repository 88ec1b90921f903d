package dev.tollgate.tunnel.impl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Trust anchors for upstreams: the JVM's default trust store plus PEM CA files, as one PKIX trust
 * manager. Nothing built here trusts less than the JVM does. Blocking (file reads).
 */
public final class TrustAnchors {
  private final List<X509Certificate> anchors;

  private TrustAnchors(List<X509Certificate> anchors) {
    this.anchors = List.copyOf(anchors);
  }

  /** The JVM's default anchors. */
  public static TrustAnchors jvm() throws IOException {
    try {
      TrustManagerFactory jvm = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      jvm.init((KeyStore) null);
      List<X509Certificate> out = new ArrayList<>();
      for (TrustManager tm : jvm.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          out.addAll(List.of(x.getAcceptedIssuers()));
        }
      }
      return new TrustAnchors(out);
    } catch (GeneralSecurityException e) {
      throw new IOException("the JVM trust store: " + e.getMessage(), e);
    }
  }

  /**
   * These anchors plus the certificates in {@code files}.
   *
   * @param key the config key the files come from, for messages ({@code mitm.upstreamTrust})
   */
  public TrustAnchors plus(List<Path> files, String key) throws IOException {
    if (files.isEmpty()) {
      return this;
    }
    List<X509Certificate> out = new ArrayList<>(anchors);
    for (int f = 0; f < files.size(); f++) {
      Path file = files.get(f);
      String where = key + "[" + f + "]: " + file;
      try (InputStream in = Files.newInputStream(file)) {
        int n = 0;
        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          out.add((X509Certificate) c);
          n++;
        }
        if (n == 0) {
          throw new IOException(where + " holds no certificate");
        }
      } catch (GeneralSecurityException e) {
        throw new IOException(where + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw e.getMessage() != null && e.getMessage().startsWith(where) ? e : new IOException(where + ": " + e, e);
      }
    }
    return new TrustAnchors(out);
  }

  /** A PKIX trust factory over these anchors. */
  public TrustManagerFactory factory() throws IOException {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (X509Certificate c : anchors) {
        store.setCertificateEntry("anchor-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      return tmf;
    } catch (GeneralSecurityException e) {
      throw new IOException("building the upstream trust store: " + e.getMessage(), e);
    }
  }

  /** The PKIX trust manager over these anchors. */
  public X509ExtendedTrustManager trustManager() throws IOException {
    for (TrustManager tm : factory().getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new IOException("the JVM offers no X.509 trust manager");
  }
}
