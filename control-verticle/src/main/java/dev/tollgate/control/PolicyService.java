package dev.tollgate.control;

import dev.tollgate.common.Addresses;
import dev.tollgate.common.policy.Policy;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts new policy versions and puts them in force, alone or in a cluster.
 *
 * <p>Alone, a version is stored and swapped in. In a cluster, the writer takes the cluster-wide
 * lock, numbers the version above both its own and the cluster's current one, stores it, puts it
 * in the cluster map and publishes it on {@value Addresses#POLICY_CHANGED}; every node adopts a
 * version above its own, writing it to its own disk. A node that starts (or missed a message)
 * takes the map's version when it is newer, and gives the map its own when the map is behind (a
 * full-cluster restart), so the newest version on any disk wins.
 */
public final class PolicyService {
  static final String MAP = "tollgate.policy";
  static final String LOCK = "tollgate.policy.write";
  static final String CURRENT = "current";
  private static final long RECONCILE_MILLIS = 2000;
  private static final Logger LOG = LoggerFactory.getLogger(PolicyService.class);

  /** A PUT with {@code If-Match} naming a version that is no longer current. */
  public static final class StaleVersion extends RuntimeException {
    public StaleVersion(String message) {
      super(message, null, false, false);
    }
  }

  private final Vertx vertx;
  private final PolicyStore store;
  private final AtomicReference<Policy> inForce;
  private final boolean clustered;
  private final String node;
  private AsyncMap<String, JsonObject> map;

  public PolicyService(Vertx vertx, PolicyStore store, AtomicReference<Policy> inForce, boolean clustered, String node) {
    this.vertx = vertx;
    this.store = store;
    this.inForce = inForce;
    this.clustered = clustered;
    this.node = node;
  }

  public PolicyStore store() {
    return store;
  }

  /** The version this node runs. */
  public int version() {
    return inForce.get().version();
  }

  /** In a cluster: subscribes to new versions and reconciles with the cluster map (at start, then every 2 s). */
  public Future<Void> start() {
    if (!clustered) {
      return Future.succeededFuture();
    }
    return vertx.sharedData()
        .<String, JsonObject>getAsyncMap(MAP)
        .compose(m -> {
          map = m;
          return vertx.eventBus()
              .<JsonObject>consumer(Addresses.POLICY_CHANGED, msg -> adopt(msg.body(), "published by " + msg.body().getString("node")))
              .completion();
        })
        .compose(v -> reconcile())
        .onSuccess(v -> vertx.setPeriodic(RECONCILE_MILLIS, id -> reconcile()));
  }

  /** Takes the cluster's version when newer; gives it ours (under the lock) when it is behind. */
  private Future<Void> reconcile() {
    return map.get(CURRENT)
        .compose(current -> {
          int theirs = versionOf(current);
          if (theirs > store.current().version()) {
            return adopt(current, "taken from the cluster");
          }
          if (theirs == store.current().version()) {
            return Future.<Void>succeededFuture();
          }
          return withLock(() -> map.get(CURRENT).compose(again -> {
            if (versionOf(again) >= store.current().version()) {
              return Future.<Void>succeededFuture();
            }
            LOG.info("the cluster had policy v{}; giving it this node's v{}", versionOf(again), store.current().version());
            PolicyStore.Entry ours = store.current();
            return map.put(CURRENT, ours.toJson())
                .onSuccess(v -> vertx.eventBus().publish(Addresses.POLICY_CHANGED, ours.toJson().put("node", node)));
          }));
        })
        .recover(e -> {
          LOG.warn("policy reconciliation with the cluster failed: {}", e.getMessage());
          return Future.succeededFuture();
        });
  }

  private static int versionOf(JsonObject entry) {
    return entry == null ? 0 : entry.getInteger("version", 0);
  }

  private <T> Future<T> withLock(java.util.function.Supplier<Future<T>> work) {
    return vertx.sharedData()
        .getLockWithTimeout(LOCK, 10_000)
        .compose(lock -> {
          Future<T> f;
          try {
            f = work.get();
          } catch (RuntimeException e) {
            f = Future.failedFuture(e);
          }
          return f.andThen(ar -> lock.release());
        });
  }

  /**
   * Stores {@code policy} as the next version and puts it in force here and on every node.
   * Fails with {@link StaleVersion} when {@code ifMatch} (an ETag, or null) names an older version,
   * with {@link dev.tollgate.common.policy.PolicyException} when an htpasswd file cannot be read.
   */
  public Future<PolicyStore.Entry> accept(Policy policy, String who, String ifMatch) {
    if (!clustered) {
      return vertx
          .executeBlocking(() -> {
            synchronized (store) {
              checkIfMatch(ifMatch, store.current().version());
              return store.accept(policy, who, Instant.now());
            }
          }, true)
          .onSuccess(this::inForce);
    }
    return withLock(() -> map.get(CURRENT)
        .compose(current -> vertx.executeBlocking(() -> {
              synchronized (store) {
                int latest = Math.max(store.current().version(), versionOf(current));
                checkIfMatch(ifMatch, latest);
                return store.acceptAs(latest + 1, policy, who, Instant.now());
              }
            }, true))
        .compose(entry -> map.put(CURRENT, entry.toJson()).map(entry)))
        .onSuccess(entry -> {
          inForce(entry);
          vertx.eventBus().publish(Addresses.POLICY_CHANGED, entry.toJson().put("node", node));
        });
  }

  private static void checkIfMatch(String ifMatch, int latest) {
    if (ifMatch != null && !ifMatch.equals("*") && !ifMatch.equals(etag(latest))) {
      throw new StaleVersion("the policy changed since version " + ifMatch + "; now " + etag(latest));
    }
  }

  /** The ETag of a version. */
  public static String etag(int version) {
    return "\"" + version + "\"";
  }

  /** Stores and applies a version another node accepted, when it is newer than ours. */
  private Future<Void> adopt(JsonObject json, String how) {
    if (json.getString("node", "").equals(node) || json.getInteger("version", 0) <= store.current().version()) {
      return Future.succeededFuture();
    }
    return vertx
        .executeBlocking(() -> {
          synchronized (store) {
            PolicyStore.Entry e = PolicyStore.Entry.fromJson(json);
            return e.version() > store.current().version() ? store.acceptAs(e.version(), e.policy(), e.who(), e.at()) : null;
          }
        }, false)
        .onSuccess(entry -> {
          if (entry != null) {
            inForce(entry);
          }
        })
        .onFailure(e -> LOG.error("cannot adopt policy v{} ({}): {}; this node stays on v{}",
            json.getInteger("version"), how, e.getMessage(), store.current().version()))
        .<Void>mapEmpty()
        .recover(e -> Future.succeededFuture());
  }

  private void inForce(PolicyStore.Entry entry) {
    inForce.set(entry.policy());
    vertx.eventBus().publish(Addresses.POLICY_APPLIED, new JsonObject().put("version", entry.version()));
    LOG.info("policy version {} in force ({})", entry.version(), entry.who());
  }
}
