package dev.tollgate.ingress.terminate;

import io.vertx.core.MultiMap;
import java.util.List;

/**
 * The headers that tell a backend who the client was: {@code X-Forwarded-For},
 * {@code X-Forwarded-Proto}, {@code X-Forwarded-Host} and RFC 7239 {@code Forwarded}, plus the
 * client identity. Whatever the client sent under these names is removed first: a terminating
 * listener is the edge, and nothing before it is trusted.
 */
final class ForwardedHeaders {
  private static final List<String> STRIPPED =
      List.of("forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip");

  private ForwardedHeaders() {}

  /**
   * Rewrites {@code headers} in place (the request's own, before the forwarder copies them).
   *
   * @param clientIp the client's IP address (IPv6 without brackets)
   * @param host the host the client asked for, with its port when it wrote one
   * @param identityHeader the configured identity header name (always stripped)
   * @param identity the verified client identity, or null
   */
  static void apply(MultiMap headers, String clientIp, String host, String identityHeader, String identity) {
    apply(headers, clientIp, host, forwarded(clientIp, host), identityHeader, identity);
  }

  /** As above, with the {@code Forwarded} value already made by {@link #forwarded}. */
  static void apply(MultiMap headers, String clientIp, String host, String forwarded, String identityHeader, String identity) {
    for (int i = 0; i < STRIPPED.size(); i++) {
      headers.remove(STRIPPED.get(i));
    }
    headers.remove(identityHeader);
    headers.set("x-forwarded-for", clientIp);
    headers.set("x-forwarded-proto", "https");
    headers.set("x-forwarded-host", host);
    headers.set("forwarded", forwarded);
    if (identity != null) {
      headers.set(identityHeader, identity);
    }
  }

  /** The RFC 7239 {@code Forwarded} value for a client and the host it asked for. */
  static String forwarded(String clientIp, String host) {
    String node = clientIp.indexOf(':') >= 0 ? "\"[" + clientIp + "]\"" : clientIp;
    return "for=" + node + ";proto=https;host=\"" + host.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
