package dev.tollgate.tunnel;

import dev.tollgate.common.Addresses;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.common.policy.Policy;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the node's tunnel registry on the control plane: sweeps it for idle and lifetime timeouts
 * and answers the tunnel listing and kill addresses of {@link Addresses} on the event bus; applies a new policy to open
 * tunnels when it asks for that. Bytes never pass through here.
 */
public final class TunnelVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelVerticle.class);

  private final TunnelRegistry registry;
  private final Supplier<NodeConfig.Timeouts> timeouts;
  private final String node;
  private final AtomicReference<Policy> policy;

  /** @param policy the policy in force; with {@code enforceOnOpenTunnels} a new one closes the tunnels it denies */
  /** @param timeouts the timeouts in force (idle and lifetime), read at every sweep */
  public TunnelVerticle(String node, TunnelRegistry registry, Supplier<NodeConfig.Timeouts> timeouts, AtomicReference<Policy> policy) {
    this.timeouts = timeouts;
    this.node = node;
    this.policy = policy;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    // A short period keeps short timeouts honest; a sweep of a few thousand tunnels costs microseconds.
    NodeConfig.Timeouts initial = timeouts.get();
    long period = Math.max(50, Math.min(1000, Math.min(initial.idle().toMillis(), initial.maxLifetime().toMillis()) / 4));
    vertx.setPeriodic(period, id -> {
      NodeConfig.Timeouts t = timeouts.get();
      registry.sweep(System.nanoTime(), t.idle(), t.maxLifetime());
    });
    var eb = vertx.eventBus();
    // Each address twice: node-local (this node's control API) and by name (the cluster's fan-out).
    var consumers = java.util.List.of(
        eb.<JsonObject>localConsumer(Addresses.TUNNELS_LIST, m -> m.reply(list(m.body()))),
        eb.<JsonObject>consumer(Addresses.of(Addresses.TUNNELS_LIST, node), m -> m.reply(list(m.body()))),
        eb.<JsonObject>localConsumer(Addresses.TUNNELS_KILL, m -> m.reply(kill(m.body()))),
        eb.<JsonObject>consumer(Addresses.of(Addresses.TUNNELS_KILL, node), m -> m.reply(kill(m.body()))),
        eb.<JsonObject>localConsumer(Addresses.POLICY_APPLIED, m -> {
          Policy p = policy.get();
          if (p.enforceOnOpenTunnels()) {
            int closed = registry.enforce(p);
            if (closed > 0) {
              LOG.info("policy v{} closed {} open tunnel(s) it now denies", p.version(), closed);
            }
          }
        }));
    return Future.all(consumers.stream().map(c -> c.completion()).toList());
  }

  /** {@code {}} lists all; {@code {"user": NAME}} that user's. */
  private JsonObject list(JsonObject request) {
    String user = request.getString("user");
    return new JsonObject()
        .put("node", node)
        .put("tunnels", new JsonArray(registry.list().stream().filter(t -> user == null || user.equals(t.user())).map(TunnelInfo::toJson).toList()));
  }

  /** {@code {"id": ID}} or {@code {"user": NAME}}: closes those tunnels, answers how many. */
  private JsonObject kill(JsonObject request) {
    String user = request.getString("user");
    int killed = user != null
        ? registry.killUser(user, "user's tunnels closed by operator")
        : registry.kill(request.getString("id", ""), "killed by operator") ? 1 : 0;
    return new JsonObject().put("node", node).put("killed", killed);

  }

  @Override
  public Future<?> stop() {
    registry.closeAll("node shutting down");
    return Future.succeededFuture();
  }
}
