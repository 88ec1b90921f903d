package dev.tollgate.common;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One TLS-terminating listener of the {@code terminate:} config list: Tollgate holds the
 * certificates, ends TLS and hands the requests (kind {@code http}) or the byte stream (kind
 * {@code tunnelService}) to backends. Built only by the config reader, which names the bad key.
 *
 * @param name unique among the listeners; in logs and metrics
 * @param listen the TLS address
 * @param kind what the listener does with a connection once TLS is up
 * @param certificate the default certificate, served when no {@code sni} entry matches
 * @param sni certificates by server name: exact lower-case names or {@code *.suffix}, in document order
 * @param routes backends by request host (exact, {@code *.suffix}, or {@code *} for any); http only
 * @param backend the one backend a tunnel service relays to; null for http
 * @param hsts the {@code Strict-Transport-Security} policy, or null for no header
 * @param redirectHttp a companion plain listener answering 308 to https, or null
 * @param clientAuth whether clients must present a certificate
 * @param clientCa PEM CA bundle client certificates must chain to; null with {@link ClientAuth#NONE}
 * @param identityHeader the request header carrying the verified client identity to the backend
 * @param preserveHost whether backends get the client's {@code Host} rather than their own authority
 */
public record TerminateConfig(
    String name,
    HostPort listen,
    Kind kind,
    CertFiles certificate,
    Map<String, CertFiles> sni,
    Map<String, Backend> routes,
    Backend backend,
    Hsts hsts,
    HostPort redirectHttp,
    ClientAuth clientAuth,
    Path clientCa,
    String identityHeader,
    boolean preserveHost) {

  public static final String DEFAULT_IDENTITY_HEADER = "X-Client-Identity";

  /** What a terminating listener serves. */
  public enum Kind {
    /** HTTP/1.1 and h2 by ALPN, routed by host to HTTP(S) backends. */
    HTTP,
    /** A TCP relay to one fixed backend, for clients holding a certificate of the client CA. */
    TUNNEL_SERVICE;

    /** The config spelling. */
    public String json() {
      return this == HTTP ? "http" : "tunnelService";
    }
  }

  /** Whether clients are asked for a certificate. */
  public enum ClientAuth {
    NONE,
    OPTIONAL,
    REQUIRED;

    public String json() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * A PEM certificate chain and its private key.
   *
   * @param cert the chain, leaf first
   * @param key the leaf's private key (PKCS#8 or PKCS#1/SEC1)
   */
  public record CertFiles(Path cert, Path key) {
    public CertFiles {
      Objects.requireNonNull(cert, "cert");
      Objects.requireNonNull(key, "key");
    }

    JsonObject toJson() {
      return new JsonObject().put("cert", cert.toString()).put("key", key.toString());
    }
  }

  /**
   * Where requests or bytes go: {@code http://host:port} or {@code https://host:port}.
   *
   * @param tls whether the backend is reached over TLS (verified against the upstream trust anchors)
   * @param host the backend's name or IP literal (without brackets); also its TLS name
   * @param port the backend's port
   */
  public record Backend(boolean tls, String host, int port) {
    @Override
    public String toString() {
      return (tls ? "https://" : "http://") + new HostPort(host, port);
    }
  }

  /**
   * An HSTS policy.
   *
   * @param maxAge how long browsers keep to https
   * @param includeSubDomains whether it covers every subdomain
   * @param preload whether the site asks to be on the browsers' preload list
   */
  public record Hsts(Duration maxAge, boolean includeSubDomains, boolean preload) {
    /** The {@code Strict-Transport-Security} header value. */
    public String headerValue() {
      return "max-age=" + maxAge.toSeconds() + (includeSubDomains ? "; includeSubDomains" : "") + (preload ? "; preload" : "");
    }

    JsonObject toJson() {
      return new JsonObject().put("maxAge", maxAge.toSeconds()).put("includeSubDomains", includeSubDomains).put("preload", preload);
    }
  }

  public TerminateConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(certificate, "certificate");
    sni = Collections.unmodifiableMap(new LinkedHashMap<>(sni));
    routes = Collections.unmodifiableMap(new LinkedHashMap<>(routes));
  }

  /** Every certificate file pair of the listener: the default first, then the SNI ones. */
  public Map<String, CertFiles> allCertificates() {
    Map<String, CertFiles> all = new LinkedHashMap<>();
    all.put("", certificate);
    all.putAll(sni);
    return all;
  }

  /**
   * The entry of {@code table} for {@code host} (lower case, no port): an exact key first, then
   * the longest {@code *.suffix} key below which it lies, then {@code *}; null when none.
   */
  public static <T> T lookup(Map<String, T> table, String host) {
    T exact = table.get(host);
    if (exact != null) {
      return exact;
    }
    for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      T wild = table.get("*" + host.substring(dot));
      if (wild != null) {
        return wild;
      }
    }
    return table.get("*");
  }

  /** The config form, as {@link NodeConfig#toJson()} writes it. */
  public JsonObject toJson() {
    JsonObject o =
        new JsonObject()
            .put("name", name)
            .put("listen", listen.toString())
            .put("kind", kind.json())
            .put("cert", certificate.cert().toString())
            .put("key", certificate.key().toString())
            .put("clientAuth", clientAuth.json())
            .put("identityHeader", identityHeader)
            .put("preserveHost", preserveHost);
    if (!sni.isEmpty()) {
      JsonObject s = new JsonObject();
      sni.forEach((n, f) -> s.put(n, f.toJson()));
      o.put("sni", s);
    }
    if (!routes.isEmpty()) {
      JsonObject r = new JsonObject();
      routes.forEach((h, b) -> r.put(h, b.toString()));
      o.put("routes", r);
    }
    if (backend != null) o.put("backend", backend.toString());
    if (hsts != null) o.put("hsts", hsts.toJson());
    if (redirectHttp != null) o.put("redirectHttp", redirectHttp.toString());
    if (clientCa != null) o.put("clientCa", clientCa.toString());
    return o;
  }
}
