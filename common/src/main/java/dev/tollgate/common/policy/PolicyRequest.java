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
 */
public record PolicyRequest(String method, String host, int port, String user) {

  public PolicyRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /** Whether this is a CONNECT (a tunnel request) rather than a request to forward. */
  public boolean isConnect() {
    return "CONNECT".equals(method);
  }
}
