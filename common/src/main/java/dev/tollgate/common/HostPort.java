package dev.tollgate.common;

import java.util.Objects;

/**
 * A host and a port, as written in {@code HOST:PORT} listener addresses and CONNECT targets.
 *
 * <p>IPv6 literals are written in brackets ({@code [::1]:443}); {@link #host()} holds them without
 * brackets.
 */
public record HostPort(String host, int port) {

  public HostPort {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("empty host");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /**
   * Parses {@code host:port} or {@code [v6]:port}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static HostPort parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty address");
    }
    String host;
    String portText;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
        throw new IllegalArgumentException("expected [v6]:port, got " + text);
      }
      host = text.substring(1, close);
      portText = text.substring(close + 2);
    } else {
      int colon = text.lastIndexOf(':');
      if (colon <= 0 || text.indexOf(':') != colon) {
        throw new IllegalArgumentException("expected host:port, got " + text);
      }
      host = text.substring(0, colon);
      portText = text.substring(colon + 1);
    }
    if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException("bad port in " + text);
    }
    return new HostPort(host, Integer.parseInt(portText));
  }

  /** The authority form: brackets around IPv6 literals. */
  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
