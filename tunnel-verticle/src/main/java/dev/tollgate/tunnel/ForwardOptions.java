package dev.tollgate.tunnel;

import java.time.Duration;

/**
 * How the forwarder talks to upstreams.
 *
 * @param nodeName the pseudonym this node writes in {@code Via}
 * @param xForwardedFor whether to reveal the client address in {@code X-Forwarded-For}
 * @param connectTimeout upstream connect timeout
 * @param responseTimeout longest silence from the upstream while a response is awaited or read
 * @param keepAlive how long an idle pooled upstream connection is kept
 * @param maxPerUpstream pooled connections per upstream address and event loop
 */
public record ForwardOptions(
    String nodeName,
    boolean xForwardedFor,
    Duration connectTimeout,
    Duration responseTimeout,
    Duration keepAlive,
    int maxPerUpstream) {}
