package dev.tollgate.tunnel.impl;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import java.util.List;

/**
 * Fits a forwarded request to the protocol the upstream picked by ALPN, once the connection (and
 * so the version) is known. Hop-by-hop headers are already gone ({@link HopByHop}); what remains
 * is where the target host travels and how cookies are split:
 *
 * <ul>
 *   <li>towards h2: no {@code Host} field, the authority goes in {@code :authority} (RFC 9113
 *       §8.3.1); Vert.x drops {@code Transfer-Encoding} itself;
 *   <li>towards HTTP/1.1: several {@code cookie} fields (h2 clients may split them) become one,
 *       joined with "; " (RFC 9113 §8.2.3), since HTTP/1.1 allows only one.
 * </ul>
 */
public final class Http2Translation {
  private Http2Translation() {}

  /**
   * @param host the upstream host as the request names it (an IPv6 literal without brackets)
   * @param port its port
   */
  public static void adapt(HttpClientRequest upstream, String host, int port) {
    MultiMap headers = upstream.headers();
    if (upstream.version() == HttpVersion.HTTP_2) {
      headers.remove(HttpHeaders.HOST);
      upstream.authority(HostAndPort.create(host.indexOf(':') >= 0 ? "[" + host + "]" : host, port));
      return;
    }
    List<String> cookies = headers.getAll(HttpHeaders.COOKIE);
    if (cookies.size() > 1) {
      headers.set(HttpHeaders.COOKIE, String.join("; ", cookies));
    }
  }
}
