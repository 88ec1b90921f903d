package dev.tollgate.tunnel;

import dev.tollgate.common.NodeConfig;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * How the forwarder talks to upstreams.
 *
 * @param nodeName the pseudonym this node writes in {@code Via}
 * @param xForwardedFor whether to reveal the client address in {@code X-Forwarded-For}
 * @param timeouts the timeouts in force, read per request: connect, and idle as the longest
 *     silence from the upstream while a response is awaited or read
 * @param keepAlive how long an idle pooled upstream connection is kept
 * @param maxPerUpstream pooled connections per upstream address and event loop
 */
public record ForwardOptions(
    String nodeName,
    boolean xForwardedFor,
    Supplier<NodeConfig.Timeouts> timeouts,
    Duration keepAlive,
    int maxPerUpstream) {}
