package dev.tollgate.tunnel;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * Owns the node's tunnel registry on the control plane: sweeps it for idle and lifetime timeouts
 * and answers {@value #LIST} and {@value #KILL} on the event bus. Bytes never pass through here.
 */
public final class TunnelVerticle extends VerticleBase {
  /** Replies with {@code {"node":…, "tunnels":[…]}}. */
  public static final String LIST = "tollgate.tunnels.list";
  /** Takes {@code {"id":…}}; replies {@code {"killed":true|false}}. */
  public static final String KILL = "tollgate.tunnels.kill";

  private final TunnelRegistry registry;
  private final Duration idle;
  private final Duration lifetime;
  private final String node;

  public TunnelVerticle(String node, TunnelRegistry registry, Duration idle, Duration lifetime) {
    this.node = node;
    this.registry = registry;
    this.idle = idle;
    this.lifetime = lifetime;
  }

  @Override
  public Future<?> start() {
    long period = Math.max(50, Math.min(1000, Math.min(idle.toMillis(), lifetime.toMillis()) / 4));
    vertx.setPeriodic(period, id -> registry.sweep(System.nanoTime(), idle, lifetime));
    var list =
        vertx.eventBus()
            .<JsonObject>consumer(LIST)
            .handler(
                m ->
                    m.reply(
                        new JsonObject()
                            .put("node", node)
                            .put("tunnels", new JsonArray(registry.list().stream().map(TunnelInfo::toJson).toList()))));
    var kill =
        vertx.eventBus()
            .<JsonObject>consumer(KILL)
            .handler(m -> m.reply(new JsonObject().put("killed", registry.kill(m.body().getString("id", ""), "killed by operator"))));
    return Future.all(list.completion(), kill.completion());
  }

  @Override
  public Future<?> stop() {
    registry.closeAll("node shutting down");
    return Future.succeededFuture();
  }
}
