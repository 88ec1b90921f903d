package dev.tollgate.ingress.terminate;

import dev.tollgate.common.TerminateConfig;
import dev.tollgate.common.TerminateConfig.CertFiles;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.TrustOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

/**
 * The TLS material of one terminating listener as read from its files at one moment: a key
 * manager per certificate (the default, and one per SNI name) and the client CA. Immutable; a
 * reload makes a new one. Loading checks that every key belongs to its certificate, so that a
 * half-written or mismatched pair is refused before it could serve a single handshake.
 */
public final class ListenerCertificates {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ListenerCertificates.class);
  /** Names a wildcard SNI entry gets its own TLS context for, per certificate set (see {@link SniKeys}). */
  public static final int WILDCARD_NAMES = 1024;
  private final KeyManagerFactory defaultKeys;
  private final Map<String, KeyManagerFactory> byName;
  private final TrustOptions clientTrust;
  private final Map<Path, FileTime> stamps;
  private final String summary;

  private ListenerCertificates(
      KeyManagerFactory defaultKeys, Map<String, KeyManagerFactory> byName, TrustOptions clientTrust, Map<Path, FileTime> stamps, String summary) {
    this.defaultKeys = defaultKeys;
    this.byName = byName;
    this.clientTrust = clientTrust;
    this.stamps = stamps;
    this.summary = summary;
  }

  /**
   * Reads and checks every file of {@code config}. Blocking: call from a worker.
   *
   * @throws IOException naming the file and what is wrong with it
   */
  public static ListenerCertificates load(Vertx vertx, TerminateConfig config) throws IOException {
    Map<Path, FileTime> stamps = stamps(config);
    Map<String, KeyManagerFactory> byName = new LinkedHashMap<>();
    KeyManagerFactory defaultKeys = null;
    StringBuilder summary = new StringBuilder();
    for (Map.Entry<String, CertFiles> e : config.allCertificates().entrySet()) {
      Loaded loaded = keys(vertx, e.getValue());
      if (e.getKey().isEmpty()) {
        defaultKeys = loaded.kmf();
      } else {
        byName.put(e.getKey(), loaded.kmf());
      }
      summary.append(summary.length() == 0 ? "" : ", ").append(e.getKey().isEmpty() ? "default" : e.getKey())
          .append(" (").append(loaded.leaf().getSubjectX500Principal().getName()).append(", until ")
          .append(loaded.leaf().getNotAfter().toInstant()).append(')');
    }
    TrustOptions trust = config.clientCa() == null ? null : clientTrust(config.clientCa());
    return new ListenerCertificates(defaultKeys, Map.copyOf(byName), trust, stamps, summary.toString());
  }

  /** The modification times of every file the listener reads (blocking); a change means reload. */
  public static Map<Path, FileTime> stamps(TerminateConfig config) throws IOException {
    Map<Path, FileTime> out = new LinkedHashMap<>();
    for (CertFiles f : config.allCertificates().values()) {
      out.put(f.cert(), mtime(f.cert()));
      out.put(f.key(), mtime(f.key()));
    }
    if (config.clientCa() != null) {
      out.put(config.clientCa(), mtime(config.clientCa()));
    }
    return out;
  }

  private static FileTime mtime(Path p) throws IOException {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      throw new IOException("cannot read " + p + ": " + e, e);
    }
  }

  private record Loaded(KeyManagerFactory kmf, X509Certificate leaf) {}

  private static Loaded keys(Vertx vertx, CertFiles files) throws IOException {
    Buffer cert = read(files.cert());
    Buffer key = read(files.key());
    KeyManagerFactory kmf;
    try {
      kmf = new PemKeyCertOptions().setCertValue(cert).setKeyValue(key).getKeyManagerFactory(vertx);
    } catch (Exception e) {
      throw new IOException(files.cert() + " / " + files.key() + ": not a PEM certificate chain and private key: " + e.getMessage(), e);
    }
    for (KeyManager km : kmf.getKeyManagers()) {
      if (km instanceof X509KeyManager x) {
        X509Certificate leaf = checkPair(x, files);
        if (leaf.getNotAfter().toInstant().isBefore(Instant.now())) {
          throw new IOException(files.cert() + ": the certificate expired on " + leaf.getNotAfter().toInstant());
        }
        return new Loaded(kmf, leaf);
      }
    }
    throw new IOException(files.cert() + ": no X.509 key found");
  }

  /** Proves the key and the leaf belong together by a signature round trip. */
  private static X509Certificate checkPair(X509KeyManager km, CertFiles files) throws IOException {
    for (String type : new String[] {"EC", "RSA", "EdDSA", "Ed25519", "RSASSA-PSS"}) {
      String[] aliases = km.getServerAliases(type, null);
      if (aliases == null || aliases.length == 0) {
        continue;
      }
      X509Certificate[] chain = km.getCertificateChain(aliases[0]);
      PrivateKey key = km.getPrivateKey(aliases[0]);
      if (chain == null || chain.length == 0 || key == null) {
        continue;
      }
      String algorithm =
          switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "ED25519", "EDDSA" -> "Ed25519";
            default -> null;
          };
      if (algorithm != null) {
        try {
          byte[] probe = new byte[32];
          new SecureRandom().nextBytes(probe);
          Signature signer = Signature.getInstance(algorithm);
          signer.initSign(key);
          signer.update(probe);
          byte[] signature = signer.sign();
          Signature verifier = Signature.getInstance(algorithm);
          verifier.initVerify(chain[0].getPublicKey());
          verifier.update(probe);
          if (!verifier.verify(signature)) {
            throw new IOException(files.key() + " is not the private key of the certificate in " + files.cert());
          }
        } catch (GeneralSecurityException e) {
          throw new IOException(files.key() + " does not fit the certificate in " + files.cert() + ": " + e.getMessage(), e);
        }
      }
      return chain[0];
    }
    throw new IOException(files.cert() + ": no usable certificate and key (EC, RSA or Ed25519)");
  }

  private static TrustOptions clientTrust(Path file) throws IOException {
    Buffer pem = read(file);
    try {
      Collection<? extends Certificate> cas = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem.getBytes()));
      if (cas.isEmpty()) {
        throw new IOException(file + ": holds no certificate");
      }
    } catch (GeneralSecurityException e) {
      throw new IOException(file + ": not a PEM CA bundle: " + e.getMessage(), e);
    }
    return new PemTrustOptions().addCertValue(pem);
  }

  private static Buffer read(Path p) throws IOException {
    try {
      return Buffer.buffer(Files.readAllBytes(p));
    } catch (IOException e) {
      throw new IOException("cannot read " + p + ": " + e, e);
    }
  }

  /** The key material, choosing the certificate by the client's SNI name (the default without a match). */
  public KeyCertOptions keyCertOptions() {
    return new SniKeys(defaultKeys, byName);
  }

  /** The client CA, or null when clients are not asked for a certificate. */
  public TrustOptions clientTrust() {
    return clientTrust;
  }

  /** Whether any file changed since these were read. */
  public boolean changedSince(Map<Path, FileTime> now) {
    return !stamps.equals(now);
  }

  /** Subject and expiry of each certificate, for the log. */
  public String summary() {
    return summary;
  }

  /**
   * Vert.x asks the mapper on a worker for each SNI name it meets and keeps one TLS context per
   * name it returns a key manager for, for as long as these certificates are in force. Exact names
   * are bounded by the config; names a {@code *.suffix} entry matches are not (a client may send
   * any number of subdomains), so only the first {@value #WILDCARD_NAMES} distinct ones get their
   * own context, and further ones the default certificate (make the wildcard certificate the
   * default when more are expected).
   */
  private static final class SniKeys implements KeyCertOptions {
    private final KeyManagerFactory defaultKeys;
    private final Map<String, KeyManagerFactory> byName;
    private final Set<String> wildcardNames = ConcurrentHashMap.newKeySet();

    SniKeys(KeyManagerFactory defaultKeys, Map<String, KeyManagerFactory> byName) {
      this.defaultKeys = defaultKeys;
      this.byName = byName;
    }

    @Override
    public KeyCertOptions copy() {
      return this; // immutable for Vert.x: the same key material
    }

    @Override
    public KeyManagerFactory getKeyManagerFactory(Vertx vertx) {
      return defaultKeys;
    }

    @Override
    public Function<String, KeyManagerFactory> keyManagerFactoryMapper(Vertx vertx) {
      return this::forName;
    }

    private KeyManagerFactory forName(String sni) {
      if (sni == null) {
        return null;
      }
      String name = sni.toLowerCase(Locale.ROOT);
      KeyManagerFactory exact = byName.get(name);
      if (exact != null) {
        return exact;
      }
      KeyManagerFactory wild = TerminateConfig.lookup(byName, name);
      if (wild == null) {
        return null;
      }
      if (!wildcardNames.contains(name)) {
        if (wildcardNames.size() >= WILDCARD_NAMES) {
          if (!warned) {
            warned = true;
            LOG.warn("more than {} distinct names matched *.suffix certificates; further ones get the default certificate", WILDCARD_NAMES);
          }
          return null;
        }
        wildcardNames.add(name);
      }
      return wild;
    }

    private volatile boolean warned;
  }
}
