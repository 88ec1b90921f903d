package dev.tollgate.control.cluster;

import dev.tollgate.common.Addresses;
import dev.tollgate.common.limits.Usage;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes per-user limits cluster-wide without a round trip per request. Every node decides on its
 * own {@link UserLimiter}; every {@value #PERIOD_MILLIS} ms it publishes what it spent since the
 * last report (request tokens, bytes) and the tunnels it holds, and charges what the others
 * report to its own buckets. Each bucket therefore sees the whole cluster's spending and refills
 * at the one rate, so the total follows the limit; a report is also sent at once when a tunnel
 * opens or closes, so {@code maxTunnels} sees the others within a millisecond or so. A node that
 * has not reported for {@value #SILENT_MILLIS} ms is forgotten: its tunnel slots are free again.
 *
 * <p>The bound: two nodes that take the same user's last slot or token within one report's
 * flight time (sub-millisecond on a LAN) can both succeed; the overshoot is at most a report
 * interval's worth of spending per node, and the long-run rate still converges to the limit.
 */
public final class LimitsGossip {
  static final long PERIOD_MILLIS = 100;
  static final long HEARTBEAT_MILLIS = 1000;
  static final long SILENT_MILLIS = 3000;
  private static final Logger LOG = LoggerFactory.getLogger(LimitsGossip.class);

  private final Vertx vertx;
  private final String node;
  private final UserLimiter limiter;
  private final AtomicReference<Policy> policy;
  private final AtomicBoolean urgent = new AtomicBoolean();
  private Context context;
  private MessageConsumer<JsonObject> consumer;
  private long lastSent;
  private long timer = -1;

  public LimitsGossip(Vertx vertx, String node, UserLimiter limiter, AtomicReference<Policy> policy) {
    this.vertx = vertx;
    this.node = node;
    this.limiter = limiter;
    this.policy = policy;
  }

  /** Call on the event loop that should do the reporting (the control verticle's). */
  public Future<Void> start() {
    context = vertx.getOrCreateContext();
    consumer = vertx.eventBus().consumer(Addresses.LIMITS_USAGE, m -> receive(m.body()));
    limiter.onTunnelsChanged(() -> {
      if (urgent.compareAndSet(false, true)) {
        context.runOnContext(v -> report(true));
      }
    });
    timer = vertx.setPeriodic(PERIOD_MILLIS, id -> {
      report(false);
      for (String gone : limiter.forgetSilent(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(SILENT_MILLIS))) {
        LOG.info("node {} stopped reporting its usage: its tunnel slots are free", gone);
      }
    });
    return consumer.completion();
  }

  public Future<Void> stop() {
    limiter.onTunnelsChanged(() -> {});
    vertx.cancelTimer(timer);
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }

  private void report(boolean now) {
    urgent.set(false);
    Map<String, Usage> usage = limiter.drainUsage();
    long nowMillis = System.currentTimeMillis();
    boolean spent = usage.values().stream().anyMatch(u -> u.requests() > 0 || u.bytes() > 0);
    if (!now && !spent && nowMillis - lastSent < HEARTBEAT_MILLIS) {
      return;
    }
    JsonObject users = new JsonObject();
    usage.forEach((user, u) -> users.put(user, u.toJson()));
    lastSent = nowMillis;
    vertx.eventBus().publish(Addresses.LIMITS_USAGE, new JsonObject().put("node", node).put("users", users));
  }

  private void receive(JsonObject body) {
    String from = body.getString("node");
    if (from == null || from.equals(node)) {
      return;
    }
    Map<String, Usage> report = new HashMap<>();
    body.getJsonObject("users", new JsonObject()).forEach(e -> report.put(e.getKey(), Usage.fromJson((JsonObject) e.getValue())));
    Policy p = policy.get();
    limiter.applyRemote(from, report, p::limitsFor, System.nanoTime());
  }
}
