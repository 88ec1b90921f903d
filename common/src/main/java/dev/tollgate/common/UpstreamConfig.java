package dev.tollgate.common;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * How Tollgate reaches one upstream (config {@code upstreams:}, keyed by host or {@code host:port}):
 * where it really connects and, for TLS, the name it sends, the name the certificate must match,
 * extra trust anchors and a client certificate. This is nginx's {@code proxy_ssl_name}: connect to
 * {@code one.lb.internal} while sending and verifying {@code one.example.com}.
 *
 * @param host the upstream host as clients name it (lower case, no trailing dot)
 * @param port the port this entry is for, or 0 for any port of {@code host}
 * @param dial the address actually connected to instead of {@code host:port}, or null
 * @param sni the TLS server name sent, or null for {@code host}
 * @param verifyName the name the upstream certificate must match, or null for the SNI name
 * @param trust PEM CA files trusted for this upstream besides the JVM's and {@code mitm.upstreamTrust}
 * @param clientCert PEM certificate chain offered for upstream mTLS, or null
 * @param clientKey its PEM private key
 */
public record UpstreamConfig(
    String host, int port, HostPort dial, String sni, String verifyName, List<Path> trust, Path clientCert, Path clientKey) {

  public UpstreamConfig {
    host = normalize(host);
    trust = List.copyOf(trust);
    if ((clientCert == null) != (clientKey == null)) {
      throw new IllegalArgumentException("clientCert and clientKey go together");
    }
  }

  /** Lower case, without the trailing dot of a fully qualified name: how lookups compare hosts. */
  public static String normalize(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
  }

  /** The name sent in the TLS ClientHello. */
  public String effectiveSni() {
    return sni != null ? sni : host;
  }

  /** The name the upstream certificate is checked against. */
  public String effectiveVerifyName() {
    return verifyName != null ? verifyName : effectiveSni();
  }

  /** Whether anything about TLS differs from the defaults (else only {@code dial} is set). */
  public boolean customizesTls() {
    return sni != null || verifyName != null || !trust.isEmpty() || clientCert != null;
  }

  /** The config key of this entry ({@code host} or {@code host:port}). */
  public String key() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return port == 0 ? h : h + ":" + port;
  }

  /** The entry as the config document writes it (without its key). */
  public JsonObject toJson() {
    JsonObject o = new JsonObject();
    if (dial != null) o.put("dial", dial.toString());
    if (sni != null) o.put("sni", sni);
    if (verifyName != null) o.put("verifyName", verifyName);
    if (!trust.isEmpty()) o.put("trust", new JsonArray(trust.stream().map(Path::toString).toList()));
    if (clientCert != null) o.put("clientCert", clientCert.toString()).put("clientKey", clientKey.toString());
    return o;
  }
}
