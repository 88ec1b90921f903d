package dev.tollgate.tunnel;

import java.net.InetAddress;

/**
 * An upstream the dialer has resolved and checked: {@link #address()} is the exact address that
 * will be dialed (never looked up again).
 *
 * @param host the name as the client wrote it (for Host headers, SNI and logs)
 * @param port the port
 * @param address the checked address to connect to
 * @param dialPort the port to connect to: {@code port}, unless {@code upstreams:} sets a {@code dial}
 */
public record Target(String host, int port, InetAddress address, int dialPort) {

  /** A target dialed at the port it names. */
  public Target(String host, int port, InetAddress address) {
    this(host, port, address, port);
  }

  /** {@code host:port} in authority form. */
  public String authority() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
