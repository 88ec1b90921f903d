package dev.tollgate.ingress;

import dev.tollgate.common.NodeConfig;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.ingress.auth.ProxyAuthenticator;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What every ingress verticle instance shares, built once by the node.
 *
 * @param config the node's validated config
 * @param registry the node's tunnel registry
 * @param self this node's own listener addresses (loop detection)
 * @param tlsCertPem certificate chain for the HTTPS proxy listener, or null without one
 * @param tlsKeyPem its private key
 * @param policy the policy in force, swapped atomically when a new version is accepted
 * @param authenticator proxy authentication (bcrypt off the loop, cached)
 * @param limiter per-user tunnel, request-rate and bandwidth limits
 * @param accessLog one line per forwarded request and per tunnel
 * @param leaves the interception leaf cache (available once the node's mitm verticle runs)
 * @param upstreamTrust how upstreams are reached: trust anchors for TLS upstreams (the JVM's plus
 *     mitm.upstreamTrust) and the per-host dial, SNI, verify-name and client-certificate settings of
 *     {@code upstreams:}; hand it to every TLS {@code HttpForwarder} and {@code Dialer}
 * @param capacity the node's tunnel cap, per-client connection cap and memory guard
 * @param passthrough hosts never intercepted because their clients reject Tollgate's certificate
 * @param terminations the TLS-terminating listeners and their (reloadable) certificates
 */
public record IngressSetup(
    NodeConfig config,
    TunnelRegistry registry,
    SelfAddresses self,
    Buffer tlsCertPem,
    Buffer tlsKeyPem,
    AtomicReference<Policy> policy,
    ProxyAuthenticator authenticator,
    UserLimiter limiter,
    AccessLog accessLog,
    java.util.function.Supplier<dev.tollgate.mitm.LeafCache> leaves,
    dev.tollgate.tunnel.UpstreamTls upstreamTrust,
    dev.tollgate.common.limits.CapacityGuard capacity,
    java.util.function.Supplier<dev.tollgate.mitm.intercept.Passthrough> passthrough,
    dev.tollgate.ingress.terminate.Terminations terminations) {}
