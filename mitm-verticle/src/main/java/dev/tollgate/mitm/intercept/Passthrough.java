package dev.tollgate.mitm.intercept;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts whose clients reject Tollgate's certificate (certificate pinning, a private trust store):
 * every rejection is logged and counted; with learning on, a host rejected {@value #THRESHOLD}
 * times is put on a passthrough list — in a cluster map, so every node relays it blind — and its
 * tunnels are no longer intercepted. Operators see and clear the list through the control API.
 * Reads are a local set, refreshed from the map every 2 s and at once on this node's changes.
 */
public final class Passthrough {
  public static final int THRESHOLD = 3;
  static final String MAP = "tollgate.mitm.passthrough";
  private static final Logger LOG = LoggerFactory.getLogger(Passthrough.class);

  private final Vertx vertx;
  private final boolean learn;
  private final Map<String, AtomicInteger> rejections = new ConcurrentHashMap<>();
  private volatile Set<String> hosts = Set.of();
  private final AtomicInteger rejectedTotal = new AtomicInteger();
  private AsyncMap<String, JsonObject> map;

  public Passthrough(Vertx vertx, boolean learn) {
    this.vertx = vertx;
    this.learn = learn;
  }

  public Future<Void> start() {
    return vertx.sharedData().<String, JsonObject>getAsyncMap(MAP).compose(m -> {
      map = m;
      vertx.setPeriodic(2000, id -> refresh());
      return refresh();
    });
  }

  private Future<Void> refresh() {
    return map.keys().onSuccess(keys -> hosts = Set.copyOf(keys)).mapEmpty();
  }

  /** Whether {@code host}'s tunnels are relayed blind. */
  public boolean contains(String host) {
    return hosts.contains(host.toLowerCase(java.util.Locale.ROOT));
  }

  /** A client of {@code host} did not complete the handshake with Tollgate's certificate. */
  public void rejected(String host, String client) {
    String h = host.toLowerCase(java.util.Locale.ROOT);
    int n = rejections.computeIfAbsent(h, k -> new AtomicInteger()).incrementAndGet();
    rejectedTotal.incrementAndGet();
    LOG.warn("interception: client {} rejected the certificate for {} ({} time(s){})", client, h, n,
        learn ? ", passthrough after " + THRESHOLD : "");
    if (learn && n >= THRESHOLD && !hosts.contains(h)) {
      map.putIfAbsent(h, new JsonObject().put("host", h).put("learnedAt", Instant.now().toString()).put("rejections", n))
          .onSuccess(v -> {
            LOG.info("interception: {} is now relayed blind on every node (passthrough learned)", h);
            refresh();
          });
    }
  }

  /** Rejections seen on this node (for metrics). */
  public int rejectedTotal() {
    return rejectedTotal.get();
  }

  /** {@code {"hosts": [{"host", "learnedAt", "rejections"}]}}. */
  public Future<JsonObject> list() {
    return map.values().map(values -> new JsonObject().put("learn", learn).put("hosts", new io.vertx.core.json.JsonArray(
        values.stream().sorted(java.util.Comparator.comparing(v -> v.getString("host"))).map(v -> (Object) v).toList())));
  }

  /** Clears the list on every node; returns how many hosts it held. */
  public Future<Integer> clear() {
    return map.size().compose(n -> map.clear().map(v -> {
      rejections.clear();
      hosts = Set.of();
      return n;
    }));
  }
}
