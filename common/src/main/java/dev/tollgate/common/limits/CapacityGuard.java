package dev.tollgate.common.limits;

import dev.tollgate.common.NodeConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * The node's capacity guards: a cap on tunnels per node, a cap on open client connections per
 * client address, and a memory guard. The memory guard reads the heap in use after the last
 * collection (garbage does not count), at most every 250 ms, so asking costs a volatile read.
 * Thread-safe: every ingress event loop shares one.
 */
public final class CapacityGuard {
  private static final long HEAP_CHECK_NANOS = 250_000_000L;

  private final NodeConfig.Capacity config;
  private final IntSupplier tunnels;
  /** The policy's caps, which replace the config's when set (null: not set). */
  private volatile Integer policyMaxTunnels;
  private volatile Integer policyMaxConnections;
  private final ConcurrentHashMap<String, AtomicInteger> connections = new ConcurrentHashMap<>();
  private volatile long heapCheckedAt = System.nanoTime() - HEAP_CHECK_NANOS;
  private volatile double heapShare;

  /** @param tunnels the node's open tunnels */
  public CapacityGuard(NodeConfig.Capacity config, IntSupplier tunnels) {
    this.config = config;
    this.tunnels = tunnels;
  }

  /** Takes a policy's node-wide caps ({@code limits.maxTunnelsPerNode}, {@code limits.maxConnectionsPerClientAddress}); null leaves the config's. */
  public void policyCaps(Integer maxTunnelsPerNode, Integer maxConnectionsPerClientAddress) {
    policyMaxTunnels = maxTunnelsPerNode;
    policyMaxConnections = maxConnectionsPerClientAddress;
  }

  /** Whether the node holds as many tunnels as it may. */
  public boolean full() {
    int max = maxTunnels();
    return max > 0 && tunnels.getAsInt() >= max;
  }

  public int maxTunnels() {
    Integer p = policyMaxTunnels;
    return p != null ? p : config.maxTunnelsPerNode();
  }

  /** Counts a new client connection from {@code ip}; false when it is over the per-address cap (it is counted anyway: pair with {@link #closed}). */
  public boolean opened(String ip) {
    int n = connections.computeIfAbsent(ip, k -> new AtomicInteger()).incrementAndGet();
    int max = maxConnectionsPerClient();
    return max <= 0 || n <= max;
  }

  public void closed(String ip) {
    connections.computeIfPresent(ip, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
  }

  public int maxConnectionsPerClient() {
    Integer p = policyMaxConnections;
    return p != null ? p : config.maxConnectionsPerClientAddress();
  }

  /** Whether the heap in use after the last collection is above the guard's share of the maximum. */
  public boolean memoryShort() {
    long now = System.nanoTime();
    if (now - heapCheckedAt >= HEAP_CHECK_NANOS) {
      heapCheckedAt = now;
      heapShare = heapShareAfterGc();
    }
    return heapShare > config.memoryGuard();
  }

  private static double heapShareAfterGc() {
    long used = 0;
    long max = Runtime.getRuntime().maxMemory();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported()) {
        MemoryUsage after = pool.getCollectionUsage();
        if (after != null) {
          used += after.getUsed();
        }
      }
    }
    return max <= 0 ? 0 : (double) used / max;
  }
}
