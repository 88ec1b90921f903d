package dev.tollgate.ingress;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.ProxyFailure;
import java.util.Locale;

/** Parses the request targets a proxy accepts: authority form for CONNECT, absolute form otherwise. Pure. */
public final class RequestTargets {

  /**
   * An absolute-form target.
   *
   * @param scheme lower-case scheme ({@code http})
   * @param host the host without brackets
   * @param port explicit or the scheme's default
   * @param pathAndQuery origin form to send upstream, at least {@code /}
   */
  public record Absolute(String scheme, String host, int port, String pathAndQuery) {}

  private RequestTargets() {}

  /** {@code host:port} or {@code [v6]:port}, as CONNECT takes it; anything else is a 400. */
  public static HostPort authority(String text) {
    if (text == null || text.isEmpty()) {
      throw ProxyFailure.badRequest("CONNECT needs a host:port target");
    }
    if (text.startsWith("/") || text.contains("://")) {
      throw ProxyFailure.badRequest("CONNECT target must be host:port, not a path or URL");
    }
    if (text.indexOf('@') >= 0) {
      throw ProxyFailure.badRequest("userinfo is not allowed in a target");
    }
    HostPort hp;
    try {
      hp = HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw ProxyFailure.badRequest("bad CONNECT target: " + e.getMessage());
    }
    if (hp.port() == 0) {
      throw ProxyFailure.badRequest("bad CONNECT target: port 0");
    }
    checkHost(hp.host());
    return hp;
  }

  /** {@code http://host[:port]/path?query}; a fragment is dropped, userinfo is a 400. */
  public static Absolute absolute(String uri) {
    int sep = uri.indexOf("://");
    if (sep <= 0) {
      throw ProxyFailure.badRequest("not a proxy request: expected an absolute URL such as http://host/path");
    }
    String scheme = uri.substring(0, sep).toLowerCase(Locale.ROOT);
    if (!scheme.equals("http")) {
      throw ProxyFailure.badRequest("unsupported scheme '" + scheme + "': use CONNECT for https");
    }
    int start = sep + 3;
    int end = start;
    while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
      end++;
    }
    String authority = uri.substring(start, end);
    if (authority.indexOf('@') >= 0) {
      throw ProxyFailure.badRequest("userinfo is not allowed in a target");
    }
    String rest = uri.substring(end);
    int hash = rest.indexOf('#');
    if (hash >= 0) {
      rest = rest.substring(0, hash);
    }
    if (rest.isEmpty() || rest.charAt(0) == '?') {
      rest = "/" + rest;
    }
    HostPort hp = hostWithDefaultPort(authority, 80);
    return new Absolute(scheme, hp.host(), hp.port(), rest);
  }

  /** {@code host}, {@code host:port} or {@code [v6]:port} with a default port; 400 when malformed. */
  public static HostPort hostWithDefaultPort(String authority, int defaultPort) {
    if (authority.isEmpty()) {
      throw ProxyFailure.badRequest("missing host in target");
    }
    HostPort hp;
    try {
      boolean hasPort =
          authority.startsWith("[") ? authority.contains("]:") : authority.indexOf(':') >= 0;
      if (hasPort) {
        hp = HostPort.parse(authority);
      } else {
        String host = authority.startsWith("[") && authority.endsWith("]") ? authority.substring(1, authority.length() - 1) : authority;
        hp = new HostPort(host, defaultPort);
      }
    } catch (IllegalArgumentException e) {
      throw ProxyFailure.badRequest("bad target: " + e.getMessage());
    }
    if (hp.port() == 0) {
      throw ProxyFailure.badRequest("bad target: port 0");
    }
    checkHost(hp.host());
    return hp;
  }

  private static void checkHost(String host) {
    if (host.indexOf(':') >= 0) {
      if (IpLiterals.parse(host) == null) {
        throw ProxyFailure.badRequest("bad IPv6 literal in target");
      }
      return;
    }
    if (host.length() > 253) {
      throw ProxyFailure.badRequest("host name too long");
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
      if (!ok) {
        throw ProxyFailure.badRequest("bad character in host name");
      }
    }
    if (host.startsWith(".") || host.contains("..")) {
      throw ProxyFailure.badRequest("bad host name");
    }
  }
}
