package dev.tollgate.ingress;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import java.util.function.BiPredicate;

/**
 * Whether an address and port is one of this node's own proxy listeners: dialing it would be a
 * forwarding loop. The node sets the listeners once they are bound (ports may be chosen by the OS).
 */
public final class SelfAddresses implements BiPredicate<InetAddress, Integer> {

  /** A listener's bind address (wildcard allowed) and port. */
  public record Bound(InetAddress address, int port) {}

  private final Set<InetAddress> localAddresses;
  private volatile List<Bound> listeners = List.of();

  /** @param localAddresses every address of this host (matched against wildcard-bound listeners) */
  public SelfAddresses(Set<InetAddress> localAddresses) {
    this.localAddresses = Set.copyOf(localAddresses);
  }

  /** Sets the bound proxy listeners. */
  public void listeners(List<Bound> bound) {
    this.listeners = List.copyOf(bound);
  }

  @Override
  public boolean test(InetAddress address, Integer port) {
    for (Bound b : listeners) {
      if (b.port() != port) {
        continue;
      }
      if (b.address().equals(address)) {
        return true;
      }
      if (b.address().isAnyLocalAddress() && (address.isLoopbackAddress() || localAddresses.contains(address))) {
        return true;
      }
    }
    return false;
  }
}
