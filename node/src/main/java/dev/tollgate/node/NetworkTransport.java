package dev.tollgate.node;

import io.vertx.core.transport.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The network transport a node's event loops run on, chosen by {@code -Dtollgate.transport}:
 * {@code auto} (the default) takes Netty's io_uring transport where the kernel offers it, else its
 * epoll transport, else the JDK's NIO selector; {@code io_uring}, {@code epoll} and {@code nio}
 * ask for one, and a node asked for a transport it cannot have refuses to start, saying why.
 * {@code -Dtollgate.nativeTransport=false}, the older switch, still means {@code nio}.
 *
 * <p>io_uring is unavailable where a seccomp profile forbids its system calls (Docker's and
 * containerd's default profiles do); {@code auto} then runs on epoll.
 */
final class NetworkTransport {
  private static final Logger LOG = LoggerFactory.getLogger(NetworkTransport.class);
  static final String PROPERTY = "tollgate.transport";
  /** The transports whose unavailability has been logged (once per process: Main checks the choice before the node makes it). */
  private static final Set<String> TOLD = ConcurrentHashMap.newKeySet();
  private static final List<String> NAMES = List.of("auto", "io_uring", "epoll", "nio");

  private NetworkTransport() {}

  /** The transport the system properties ask for; throws naming the property when it cannot be had. */
  static Transport chosen() {
    String wanted = System.getProperty(PROPERTY);
    if (wanted == null) {
      wanted = "false".equals(System.getProperty("tollgate.nativeTransport")) ? "nio" : "auto";
    }
    return choose(wanted.trim());
  }

  static Transport choose(String wanted) {
    switch (wanted) {
      case "auto":
        for (Transport t : candidates()) {
          if (t.available()) {
            return t;
          }
          if (TOLD.add(t.name())) {
            LOG.info("the {} transport is not available here ({}); trying the next", t.name(), String.valueOf(t.unavailabilityCause()));
          }
        }
        return Transport.NIO;
      case "io_uring":
        return required(Transport.IO_URING, wanted);
      case "epoll":
        return required(Transport.EPOLL, wanted);
      case "nio":
        return Transport.NIO;
      default:
        throw new IllegalArgumentException(PROPERTY + ": unknown transport '" + wanted + "' (one of " + String.join(", ", NAMES) + ")");
    }
  }

  private static List<Transport> candidates() {
    List<Transport> list = new ArrayList<>(3);
    if (Transport.IO_URING != null) {
      list.add(Transport.IO_URING);
    }
    if (Transport.EPOLL != null) {
      list.add(Transport.EPOLL);
    }
    return list;
  }

  private static Transport required(Transport transport, String name) {
    if (transport == null) {
      throw new IllegalArgumentException(PROPERTY + "=" + name + ": not available (its Netty library is not on the class path)");
    }
    if (!transport.available()) {
      Throwable cause = transport.unavailabilityCause();
      throw new IllegalArgumentException(
          PROPERTY + "=" + name + ": not available on this system" + (cause == null ? "" : " (" + cause.getMessage() + ")"));
    }
    return transport;
  }
}
