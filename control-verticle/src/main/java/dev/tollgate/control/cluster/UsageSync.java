package dev.tollgate.control.cluster;

import dev.tollgate.common.Addresses;
import dev.tollgate.common.AtomicFiles;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.quota.Counts;
import dev.tollgate.common.quota.Periods;
import dev.tollgate.common.quota.QuotaLedger;
import dev.tollgate.common.quota.QuotaLedger.Contribution;
import dev.tollgate.tunnel.TunnelInfo;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sums quota usage over the cluster and keeps it across restarts. Every {@value #PERIOD_MILLIS} ms
 * a node writes its own counts for the current periods into the cluster map {@value #MAP} (one
 * entry per period, user and node, so no two nodes ever write the same key), reads the map back,
 * and hands the other nodes' sums to its {@link QuotaLedger}. A node's data thus reaches the others
 * within two periods (one second): that is the overshoot bound. The map, pruned of past periods,
 * is also written to {@code usage.json} in the node's data dir, and merged back at start (entries
 * only ever grow within a period, so merging keeps the larger), which carries usage over a
 * full-cluster restart; a node that dies loses at most its last period's counts.
 *
 * <p>A reset ({@link #reset}) puts a reset time for the user in the map and tells every node on
 * the event bus: counters that started before it no longer count. Without a cluster the same map
 * is local and the file is what keeps usage.
 */
public final class UsageSync {
  static final String MAP = "tollgate.usage";
  static final long PERIOD_MILLIS = 500;
  private static final Logger LOG = LoggerFactory.getLogger(UsageSync.class);
  private static final Logger AUDIT = LoggerFactory.getLogger("tollgate.audit");

  private final Vertx vertx;
  private final String node;
  private final QuotaLedger ledger;
  private final TunnelRegistry registry;
  private final Path file;
  private final Map<String, JsonObject> lastPut = new HashMap<>();
  private final Map<String, Long> tunnelAccounted = new HashMap<>();
  private AsyncMap<String, JsonObject> map;
  private MessageConsumer<JsonObject> consumer;
  private long timer = -1;
  private boolean busy;
  private String lastSaved = "";
  private Map<String, JsonObject> snapshot = Map.of();

  /** @param dir the data directory ({@code usage.json} and {@code audit.log} go there) */
  public UsageSync(Vertx vertx, String node, QuotaLedger ledger, TunnelRegistry registry, Path dir) {
    this.vertx = vertx;
    this.node = node;
    this.ledger = ledger;
    this.registry = registry;
    this.file = dir.resolve("usage.json");
  }

  /** Merges the saved usage into the cluster's, restores this node's own counts, and starts syncing. Call on the control verticle's loop. */
  public Future<Void> start() {
    consumer = vertx.eventBus().consumer(Addresses.USAGE_RESET, m -> applyReset(m.body().getString("user"), m.body().getLong("at", 0L)));
    return consumer.completion()
        .compose(v -> vertx.sharedData().<String, JsonObject>getAsyncMap(MAP))
        .compose(m -> {
          map = m;
          return vertx.executeBlocking(this::load);
        })
        .compose(this::mergeSaved)
        .compose(v -> map.entries())
        .map(entries -> {
          restoreOwn(entries);
          apply(entries);
          timer = vertx.setPeriodic(PERIOD_MILLIS, id -> tick());
          return null;
        });
  }

  /** Sends this node's last counts and stops. */
  public Future<Void> stop() {
    vertx.cancelTimer(timer);
    Future<Void> last = map == null ? Future.succeededFuture() : publishOwn().compose(v -> save());
    return last.eventually(() -> consumer == null ? Future.succeededFuture() : consumer.unregister());
  }

  /** Starts {@code user}'s usage afresh on every node (an operator's reset), and writes it to the audit log. */
  public Future<Long> reset(String user, String by) {
    long at = Math.max(System.currentTimeMillis(), ledger.resetAt(user) + 1);
    applyReset(user, at);
    AUDIT.info("usage reset: user={} by={} node={} at={}", user, by, node, at);
    return map.put(resetKey(user), new JsonObject().put("at", at))
        .compose(v -> map.entries())
        .compose(entries -> {
          List<Future<?>> removals = new ArrayList<>();
          entries.forEach((k, val) -> {
            Key key = Key.parse(k);
            if (key != null && key.user().equals(user)) {
              removals.add(map.remove(k));
            }
          });
          return Future.all(removals);
        })
        .compose(v -> {
          vertx.eventBus().publish(Addresses.USAGE_RESET, new JsonObject().put("user", user).put("at", at));
          return vertx.executeBlocking(() -> {
            Files.writeString(file.resolveSibling("audit.log"),
                new JsonObject().put("event", "usage.reset").put("user", user).put("by", by).put("node", node).put("at", at).encode() + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            return at;
          });
        });
  }

  private void applyReset(String user, long at) {
    if (user == null || at <= ledger.resetAt(user)) {
      return;
    }
    ledger.reset(user, at);
    lastPut.keySet().removeIf(k -> user.equals(Key.parse(k).user()));
  }

  private void tick() {
    if (busy) {
      return;
    }
    busy = true;
    accountTunnelTime(System.currentTimeMillis());
    publishOwn()
        .compose(v -> map.entries())
        .map(entries -> {
          apply(entries);
          return null;
        })
        .compose(v -> save())
        .onComplete(ar -> {
          busy = false;
          if (ar.failed()) {
            LOG.debug("usage sync failed (retried in {} ms): {}", PERIOD_MILLIS, ar.cause().toString());
          }
        });
  }

  /** Tunnel time accrues on the sync's clock: each open tunnel adds the time since it was last counted. */
  private void accountTunnelTime(long now) {
    Set<String> live = new HashSet<>();
    for (TunnelInfo t : registry.list()) {
      live.add(t.id());
      long from = tunnelAccounted.getOrDefault(t.id(), t.openedAt().toEpochMilli());
      ledger.countTunnelMillis(UserLimiter.key(t.user()), now - from);
      tunnelAccounted.put(t.id(), now);
    }
    tunnelAccounted.keySet().retainAll(live);
  }

  /** Puts this node's counts that changed since the last put. */
  private Future<Void> publishOwn() {
    List<Future<?>> puts = new ArrayList<>();
    for (Contribution c : ledger.own()) {
      String key = new Key(c.period(), node, c.user()).text();
      JsonObject value = value(c);
      if (!value.equals(lastPut.get(key))) {
        lastPut.put(key, value);
        puts.add(map.put(key, value));
      }
    }
    Periods periods = ledger.periods();
    lastPut.keySet().removeIf(k -> !periods.isCurrent(Key.parse(k).period()));
    return Future.all(puts).mapEmpty();
  }

  /** Hands the other nodes' sums to the ledger, adopting resets it missed and pruning what no longer counts. */
  private void apply(Map<String, JsonObject> entries) {
    Periods periods = ledger.periods();
    Map<String, Long> resets = resets(entries, periods);
    Map<String, Map<String, Counts>> others = new HashMap<>();
    entries.forEach((k, v) -> {
      Key key = Key.parse(k);
      if (key == null) {
        return;
      }
      long since = v.getLong("s", 0L);
      long resetAt = resets.getOrDefault(key.user(), 0L);
      if (!periods.isCurrent(key.period()) || since < resetAt) {
        map.remove(k); // a past period, or counted before a reset
        return;
      }
      if (resetAt > ledger.resetAt(key.user())) {
        applyReset(key.user(), resetAt);
      }
      if (!key.node().equals(node)) {
        others.computeIfAbsent(key.user(), u -> new HashMap<>()).merge(key.period(), counts(v), Counts::plus);
      }
    });
    ledger.applyOthers(others);
    snapshot = entries;
  }

  private Map<String, Long> resets(Map<String, JsonObject> entries, Periods periods) {
    Map<String, Long> out = new HashMap<>();
    entries.forEach((k, v) -> {
      if (k.startsWith("r|")) {
        long at = v.getLong("at", 0L);
        if (at < periods.monthStart()) {
          map.remove(k); // every counter of the current month started after it
        } else {
          out.put(k.substring(2), at);
        }
      }
    });
    return out;
  }

  /** Writes the cluster's usage, as last read, to the data dir when it changed (on a worker, in order). */
  private Future<Void> save() {
    JsonObject doc = new JsonObject();
    Periods periods = ledger.periods();
    snapshot.forEach((k, v) -> {
      Key key = Key.parse(k);
      if (k.startsWith("r|") || (key != null && periods.isCurrent(key.period()))) {
        doc.put(k, v);
      }
    });
    // This node's newest counts, which the snapshot read back may predate.
    for (Contribution c : ledger.own()) {
      doc.put(new Key(c.period(), node, c.user()).text(), value(c));
    }
    String text = new JsonObject().put("node", node).put("entries", doc).encode();
    if (text.equals(lastSaved)) {
      return Future.succeededFuture();
    }
    lastSaved = text;
    return vertx.executeBlocking(() -> {
      AtomicFiles.write(file, text, true);
      return null;
    }, true);
  }

  private JsonObject load() throws java.io.IOException {
    if (!Files.exists(file)) {
      return new JsonObject();
    }
    try {
      return new JsonObject(Files.readString(file)).getJsonObject("entries", new JsonObject());
    } catch (RuntimeException e) {
      LOG.warn("{} does not parse ({}); starting from the cluster's usage only", file, e.getMessage());
      return new JsonObject();
    }
  }

  /** Merges saved entries into the map: counts only grow within a period, so the larger (or later-started) entry wins. */
  private Future<Void> mergeSaved(JsonObject saved) {
    Periods periods = ledger.periods();
    List<Future<?>> merges = new ArrayList<>();
    for (String k : saved.fieldNames()) {
      Key key = Key.parse(k);
      Object v = saved.getValue(k);
      if (!(v instanceof JsonObject value) || (key == null && !k.startsWith("r|")) || (key != null && !periods.isCurrent(key.period()))) {
        continue;
      }
      merges.add(map.get(k).compose(current -> {
        if (current == null) {
          return map.putIfAbsent(k, value).mapEmpty();
        }
        return newer(value, current) ? map.replaceIfPresent(k, current, value).mapEmpty() : Future.succeededFuture();
      }));
    }
    return Future.all(merges).mapEmpty();
  }

  private static boolean newer(JsonObject a, JsonObject b) {
    if (a.containsKey("at")) {
      return a.getLong("at", 0L) > b.getLong("at", 0L);
    }
    long sa = a.getLong("s", 0L);
    long sb = b.getLong("s", 0L);
    return sa > sb || (sa == sb && counts(a).covers(counts(b)) && !counts(a).equals(counts(b)));
  }

  /** This node's counts from before a restart (same node name) go on from where they were; resets first. */
  private void restoreOwn(Map<String, JsonObject> entries) {
    entries.forEach((k, v) -> {
      if (k.startsWith("r|")) {
        applyReset(k.substring(2), v.getLong("at", 0L));
      }
    });
    Periods periods = ledger.periods();
    entries.forEach((k, v) -> {
      Key key = Key.parse(k);
      if (key != null && key.node().equals(node) && periods.isCurrent(key.period())) {
        ledger.restoreOwn(new Contribution(key.period(), key.user(), v.getLong("s", 0L), counts(v)));
        lastPut.put(k, v);
      }
    });
  }

  private static JsonObject value(Contribution c) {
    return new JsonObject().put("b", c.counts().bytes()).put("r", c.counts().requests()).put("t", c.counts().tunnelMillis()).put("s", c.since());
  }

  private static Counts counts(JsonObject v) {
    return new Counts(v.getLong("b", 0L), v.getLong("r", 0L), v.getLong("t", 0L));
  }

  private static String resetKey(String user) {
    return "r|" + user;
  }

  /** A usage entry's key: {@code u|PERIOD|NODE|USER} (the user last: names may hold any character). */
  record Key(String period, String node, String user) {
    String text() {
      return "u|" + period + "|" + node + "|" + user;
    }

    static Key parse(String text) {
      if (!text.startsWith("u|")) {
        return null;
      }
      String[] parts = text.split("\\|", 4);
      return parts.length == 4 ? new Key(parts[1], parts[2], parts[3]) : null;
    }
  }
}
