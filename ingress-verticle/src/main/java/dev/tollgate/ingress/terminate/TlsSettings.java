package dev.tollgate.ingress.terminate;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.ServerSSLOptions;
import io.vertx.core.net.TCPSSLOptions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The TLS settings of every terminating listener: TLS 1.2 and 1.3 only, forward-secret AEAD
 * suites only (Mozilla's "intermediate" list without the DHE ones), and OpenSSL/BoringSSL through
 * netty-tcnative when its native library loads, else the JDK engine. Both engines resume sessions
 * (a session cache and TLS 1.3 tickets) by default.
 */
public final class TlsSettings {
  /** The protocols offered. */
  public static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  /** IANA names; both engines understand them. TLS 1.3's come first. */
  public static final List<String> CIPHER_SUITES =
      List.of(
          "TLS_AES_128_GCM_SHA256",
          "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  private static final boolean OPENSSL = openSslUsable();

  private TlsSettings() {}

  private static boolean openSslUsable() {
    if (Boolean.getBoolean("tollgate.tls.jdk")) {
      return false; // forced off, e.g. to compare the engines
    }
    try {
      return OpenSSLEngineOptions.isAvailable();
    } catch (Throwable e) { // a native library that fails to link is an Error, not an Exception
      return false;
    }
  }

  /** {@code openssl} when netty-tcnative's library loaded here, else {@code jdk}. */
  public static String engineName() {
    return OPENSSL ? "openssl" : "jdk";
  }

  /** A new engine options object for the engine in use. */
  public static SSLEngineOptions engine() {
    return OPENSSL ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
  }

  /** Applies protocols, suites, engine and handshake timeout to a server's options. */
  static <T extends TCPSSLOptions> T apply(T options, long handshakeTimeoutMillis) {
    options.setSsl(true).setSslEngineOptions(engine()).setEnabledSecureTransportProtocols(PROTOCOLS);
    CIPHER_SUITES.forEach(options::addEnabledCipherSuite);
    options.setSslHandshakeTimeout(handshakeTimeoutMillis).setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    return options;
  }

  /** The same settings as {@link ServerSSLOptions}, for {@code updateSSLOptions} on a reload. */
  static ServerSSLOptions sslOptions(long handshakeTimeoutMillis) {
    ServerSSLOptions o = new ServerSSLOptions().setEnabledSecureTransportProtocols(PROTOCOLS);
    CIPHER_SUITES.forEach(o::addEnabledCipherSuite);
    return o.setSslHandshakeTimeout(handshakeTimeoutMillis).setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
  }
}
