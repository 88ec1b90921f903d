package dev.tollgate.control.cluster;

import dev.tollgate.common.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Who is in the cluster, and asking all of them. Each node keeps its name in a cluster map with a
 * short time-to-live and refreshes it every second, so a node that dies (even by {@code kill -9})
 * drops out within seconds without anyone cleaning up. Questions to every node go to each node's
 * own address ({@link Addresses#of}) with a 2 s timeout; a node that does not answer is named in
 * the result instead of failing it. A lone node is a cluster of one, asked in-process.
 */
public final class ClusterMembers {
  static final String MAP = "tollgate.members";
  static final long TTL_MILLIS = 5000;
  static final long REFRESH_MILLIS = 1000;
  public static final long ASK_TIMEOUT_MILLIS = 2000;

  /** The answers of a fan-out: by node name, and the nodes that did not answer (with why). */
  public record Answers(Map<String, JsonObject> replies, Map<String, String> missing) {
    public boolean partial() {
      return !missing.isEmpty();
    }

    /** {@code {"partial": bool, "missing": {node: why}}} for an API answer. */
    public JsonObject completeness() {
      return new JsonObject().put("partial", partial()).put("missing", new JsonObject(new TreeMap<>(missing)));
    }
  }

  private final Vertx vertx;
  private final String node;
  private final boolean clustered;
  private final Supplier<JsonObject> status;
  private AsyncMap<String, JsonObject> map;
  private long timer = -1;

  /** @param status this node's status, answered on {@link Addresses#NODE_STATUS} */
  public ClusterMembers(Vertx vertx, String node, boolean clustered, Supplier<JsonObject> status) {
    this.vertx = vertx;
    this.node = node;
    this.clustered = clustered;
    this.status = status;
  }

  public Future<Void> start() {
    Future<Void> consumer =
        vertx.eventBus().<JsonObject>consumer(Addresses.of(Addresses.NODE_STATUS, node), m -> m.reply(status.get())).completion();
    if (!clustered) {
      return consumer;
    }
    return consumer
        .compose(v -> vertx.sharedData().<String, JsonObject>getAsyncMap(MAP))
        .compose(m -> {
          map = m;
          timer = vertx.setPeriodic(REFRESH_MILLIS, id -> announce());
          return announce();
        });
  }

  private Future<Void> announce() {
    return map.put(node, new JsonObject().put("name", node).put("at", System.currentTimeMillis()), TTL_MILLIS);
  }

  /** Leaves the member list (a drained node); the time-to-live covers a node that cannot. */
  public Future<Void> leave() {
    if (!clustered) {
      return Future.succeededFuture();
    }
    vertx.cancelTimer(timer);
    return map.remove(node).mapEmpty();
  }

  /** The names of the live nodes, this one included. */
  public Future<List<String>> names() {
    if (!clustered) {
      return Future.succeededFuture(List.of(node));
    }
    return map.keys().map(keys -> {
      List<String> out = new ArrayList<>(keys);
      if (!out.contains(node)) {
        out.add(node);
      }
      out.sort(null);
      return out;
    });
  }

  /** Sends {@code body} to {@code address} on every node and collects the answers (2 s each). */
  public Future<Answers> ask(String address, JsonObject body) {
    return names().compose(names -> {
      Map<String, JsonObject> replies = new TreeMap<>();
      Map<String, String> missing = new TreeMap<>();
      List<Future<?>> all = new ArrayList<>();
      DeliveryOptions timeout = new DeliveryOptions().setSendTimeout(ASK_TIMEOUT_MILLIS);
      for (String name : names) {
        all.add(vertx.eventBus()
            .<JsonObject>request(Addresses.of(address, name), body, timeout)
            .map(Message::body)
            .onComplete(ar -> {
              synchronized (replies) {
                if (ar.succeeded()) {
                  replies.put(name, ar.result());
                } else {
                  missing.put(name, "did not answer: " + ar.cause().getMessage());
                }
              }
            }));
      }
      return Future.join(all).transform(ar -> Future.succeededFuture(new Answers(replies, missing)));
    });
  }

  /**
   * {@code GET /v1/cluster}'s answer: every node's status, the policy versions they run and
   * whether those diverge.
   */
  public Future<JsonObject> describe() {
    return ask(Addresses.NODE_STATUS, new JsonObject()).map(a -> {
      JsonArray members = new JsonArray();
      a.replies().values().forEach(members::add);
      a.missing().forEach((name, why) -> members.add(new JsonObject().put("name", name).put("state", "unreachable").put("error", why)));
      long versions = a.replies().values().stream().map(s -> s.getInteger("policyVersion")).distinct().count();
      return new JsonObject()
          .put("node", node)
          .put("clustered", clustered)
          .put("members", members)
          .put("policyDiverged", versions > 1)
          .mergeIn(a.completeness());
    });
  }
}
