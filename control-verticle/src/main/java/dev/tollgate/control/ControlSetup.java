package dev.tollgate.control;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * What the control verticle works with.
 *
 * @param listen where the control API listens
 * @param token the bearer token that everything under {@code /v1} requires
 * @param node this node's name
 * @param clustered whether the node is a cluster member (else it is a cluster of one)
 * @param ready the node's readiness, reported by {@code /readyz}
 * @param status this node's status for {@code /v1/cluster}
 * @param policyStore the node's policy versions
 * @param policy the policy in force, swapped when a new version is accepted
 * @param limiter the node's per-user limits (made cluster-wide when clustered)
 * @param registry the node's tunnels
 * @param drain starts draining the node (idempotent); completes when the node has drained
 * @param metrics the node's metrics in Prometheus' text format, for {@code /metrics}
 * @param dataDir the node's data directory (quota usage is kept there)
 */
public record ControlSetup(
    HostPort listen,
    String token,
    String node,
    boolean clustered,
    AtomicBoolean ready,
    Supplier<JsonObject> status,
    PolicyStore policyStore,
    AtomicReference<Policy> policy,
    UserLimiter limiter,
    TunnelRegistry registry,
    Supplier<Future<Void>> drain,
    Supplier<String> metrics,
    java.nio.file.Path dataDir) {}
