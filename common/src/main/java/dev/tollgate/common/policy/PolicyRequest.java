package dev.tollgate.common.policy;

import java.util.Objects;

/**
 * What the policy decides on: one request as the client sent it.
 *
 * @param method the HTTP method, case-sensitive as on the wire ({@code CONNECT}, {@code GET})
 * @param host the target host as the client wrote it: any case, trailing dot, odd IP encodings and
 *     bracketed IPv6 are all normalised by the engine, so they need not be cleaned first
 * @param port the target port
 * @param user the verified user name, or {@code null} when no credentials were given or verified
 * @param listener the terminating listener's name, or {@code null} on a proxy listener
 * @param client the verified client certificate, or {@code null} without one
 */
public record PolicyRequest(String method, String host, int port, String user, String listener, ClientCertificate client) {

  public PolicyRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /** A request on a proxy listener. */
  public PolicyRequest(String method, String host, int port, String user) {
    this(method, host, port, user, null, null);
  }

  /** A request on the terminating listener {@code listener}, with its client's certificate if any. */
  public static PolicyRequest terminating(String method, String host, int port, String listener, ClientCertificate client) {
    return new PolicyRequest(method, host, port, null, Objects.requireNonNull(listener, "listener"), client);
  }

  /** Whether this is a CONNECT (a tunnel request) rather than a request to forward. */
  public boolean isConnect() {
    return "CONNECT".equals(method);
  }
}
