package dev.tollgate.tunnel;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.UpstreamConfig;
import dev.tollgate.tunnel.impl.TrustAnchors;
import dev.tollgate.tunnel.impl.VerifyNameTrustManager;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How Tollgate reaches upstreams: the trust anchors every TLS upstream is verified against (the
 * JVM's plus {@code mitm.upstreamTrust}) and the per-upstream settings of {@code upstreams:} —
 * the address dialed, the SNI name sent, the name the certificate must match, extra anchors and a
 * client certificate. Looked up by the {@link Dialer} (where to connect) and the
 * {@link HttpForwarder} (how to speak TLS) on every request, so forwarding, CONNECT, interception
 * and termination all follow the same table. Immutable; built once per node, off the event loop.
 */
public final class UpstreamTls {
  private static final UpstreamTls NONE = new UpstreamTls(null, Map.of());

  private final TrustOptions defaultTrust;
  private final Map<String, Route> routes;

  /**
   * One upstream's settings, ready for a connection.
   *
   * @param config the configured entry
   * @param sslOptions TLS options for this upstream (its own trust manager checking
   *     {@code verifyName}, its client certificate), or null when only {@code dial} is set and the
   *     defaults apply
   */
  public record Route(UpstreamConfig config, ClientSSLOptions sslOptions) {
    /** The TLS server name to send for this upstream. */
    public String sni() {
      return config.effectiveSni();
    }
  }

  private UpstreamTls(TrustOptions defaultTrust, Map<String, Route> routes) {
    this.defaultTrust = defaultTrust;
    this.routes = routes;
  }

  /** No upstream settings and no TLS trust: plain forwarding with every host dialed as named. */
  public static UpstreamTls none() {
    return NONE;
  }

  /** TLS upstreams verified against {@code trust} and their own names; no per-upstream settings. */
  public static UpstreamTls trusting(TrustOptions trust) {
    return new UpstreamTls(trust, Map.of());
  }

  /**
   * Reads every file the settings name (blocking: call it on a worker). Errors name the config
   * key of the file at fault.
   *
   * @param sharedTrust {@code mitm.upstreamTrust}: CA files trusted for every upstream
   * @param upstreams the {@code upstreams:} entries
   */
  public static UpstreamTls load(Vertx vertx, List<Path> sharedTrust, List<UpstreamConfig> upstreams) throws IOException {
    TrustAnchors shared = TrustAnchors.jvm().plus(sharedTrust, "mitm.upstreamTrust");
    Map<String, Route> routes = new HashMap<>();
    for (UpstreamConfig u : upstreams) {
      String key = "upstreams[" + u.key() + "]";
      ClientSSLOptions ssl = null;
      if (u.customizesTls()) {
        VerifyNameTrustManager tm = new VerifyNameTrustManager(shared.plus(u.trust(), key + ".trust").trustManager(), u.effectiveVerifyName());
        ssl =
            new ClientSSLOptions()
                // Empty on purpose: the JDK would check the SNI name; tm checks verifyName instead (never nothing).
                .setHostnameVerificationAlgorithm("")
                .setTrustOptions(TrustOptions.wrap(tm));
        if (u.clientCert() != null) {
          ssl.setKeyCertOptions(clientCertificate(vertx, u, key));
        }
      }
      routes.put(u.key(), new Route(u, ssl));
    }
    return new UpstreamTls(TrustOptions.wrap(shared.factory()), Map.copyOf(routes));
  }

  private static KeyCertOptions clientCertificate(Vertx vertx, UpstreamConfig u, String key) throws IOException {
    Buffer cert = read(u.clientCert(), key + ".clientCert");
    Buffer pemKey = read(u.clientKey(), key + ".clientKey");
    try {
      // Parsed now so that a bad file stops the node at start, naming the key, not the first request.
      return KeyCertOptions.wrap(new PemKeyCertOptions().setCertValue(cert).setKeyValue(pemKey).getKeyManagerFactory(vertx));
    } catch (Exception e) {
      throw new IOException(key + ".clientCert/clientKey: not a usable PEM certificate and key: " + e.getMessage(), e);
    }
  }

  private static Buffer read(Path file, String key) throws IOException {
    try {
      return Buffer.buffer(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new IOException(key + ": cannot read " + file + ": " + e, e);
    }
  }

  /** Trust anchors for TLS upstreams without settings of their own; null: this forwarder is plain. */
  public TrustOptions defaultTrust() {
    return defaultTrust;
  }

  /** The settings for {@code host:port}: an entry for that port, else one for the host; null when none. */
  public Route route(String host, int port) {
    if (routes.isEmpty()) {
      return null;
    }
    String h = UpstreamConfig.normalize(host);
    String bracketed = h.indexOf(':') >= 0 ? "[" + h + "]" : h;
    Route r = routes.get(bracketed + ":" + port);
    return r != null ? r : routes.get(bracketed);
  }

  /** Where to connect for {@code host:port}: the configured {@code dial}, or null to dial the host itself. */
  public HostPort dial(String host, int port) {
    Route r = route(host, port);
    return r == null ? null : r.config().dial();
  }
}
