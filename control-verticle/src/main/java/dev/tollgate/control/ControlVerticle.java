package dev.tollgate.control;

import dev.tollgate.common.Addresses;
import dev.tollgate.control.cluster.ClusterMembers;
import dev.tollgate.control.cluster.LimitsGossip;
import dev.tollgate.control.cluster.TunnelLimits;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.quota.QuotaLedger;
import dev.tollgate.control.cluster.UsageSync;
import dev.tollgate.control.impl.PolicyApi;
import dev.tollgate.control.impl.UsageApi;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The control listener: {@code /healthz}, {@code /readyz} and the {@code /v1} API, and the node's
 * share of the cluster's control plane: policy versions, cluster-wide limits, the member list.
 * Tunnel listings and kills go to every node's tunnel verticle over the event bus (control only,
 * never bytes).
 */
public final class ControlVerticle extends VerticleBase {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ControlVerticle.class);
  private final ControlSetup setup;
  private final byte[] token;
  private HttpServer server;
  private PolicyService policies;
  private ClusterMembers members;
  private LimitsGossip gossip;
  private UsageSync usage;
  private volatile int memberCount = 1;

  public ControlVerticle(ControlSetup setup) {
    this.setup = setup;
    this.token = ("Bearer " + setup.token()).getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public Future<?> start() {
    policies = new PolicyService(vertx, setup.policyStore(), setup.policy(), setup.clustered(), setup.node());
    members = new ClusterMembers(vertx, setup.node(), setup.clustered(), setup.status());
    TunnelLimits tunnelLimits = new TunnelLimits(setup.node(), setup.limiter(), setup.registry(), members);
    QuotaLedger ledger = setup.limiter().quotas();
    vertx.eventBus().<JsonObject>localConsumer(Addresses.POLICY_APPLIED, m -> {
      tunnelLimits.apply(setup.policy().get());
      Policy p = setup.policy().get();
      ledger.requota(key -> p.quotaFor(UserLimiter.ANONYMOUS.equals(key) ? null : key));
    });
    ledger.onExceeded((key, denial) -> {
      int closed = setup.registry().killUser(UserLimiter.ANONYMOUS.equals(key) ? null : key, denial.reason());
      if (closed > 0) {
        LOG.info("user {}: {}; closed {} tunnel(s)", key, denial.reason(), closed);
      }
    });
    usage = new UsageSync(vertx, setup.node(), ledger, setup.registry(), setup.dataDir());
    Future<Void> cluster = Future.succeededFuture();
    if (setup.clustered()) {
      gossip = new LimitsGossip(vertx, setup.node(), setup.limiter(), setup.policy());
      cluster = gossip.start();
    }
    Router router = Router.router(vertx);
    router.get("/healthz").handler(rc -> json(rc, 200, new JsonObject().put("status", "ok")));
    router.get("/readyz").handler(this::ready);
    router.get("/metrics").handler(rc -> vertx
        .executeBlocking(() -> setup.metrics().get(), false)
        .onSuccess(text -> rc.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(text))
        .onFailure(rc::fail));
    router.route("/v1/*").handler(this::authenticate);
    router.get("/v1/cluster").handler(rc -> members.describe().onComplete(ar -> answer(rc, ar.result(), ar.cause())));
    router.get("/v1/tunnels").handler(this::listTunnels);
    router.delete("/v1/tunnels/:id").handler(this::killTunnel);
    router.delete("/v1/tunnels").handler(this::killUserTunnels);
    router.post("/v1/drain").handler(this::drain);
    router.get("/v1/mitm/passthrough").handler(rc -> passthrough(rc, new JsonObject()));
    router.delete("/v1/mitm/passthrough").handler(rc -> passthrough(rc, new JsonObject().put("clear", true)));
    router.get("/v1/ca.pem").handler(rc -> vertx.eventBus()
        .<JsonObject>request(Addresses.MITM_CA, new JsonObject())
        .onSuccess(m -> rc.response().putHeader("content-type", "application/x-pem-file").end(m.body().getString("pem")))
        .onFailure(e -> json(rc, 503, new JsonObject().put("error", "no CA: " + e.getMessage()))));
    new PolicyApi(vertx, policies).mount(router);
    new UsageApi(ledger, usage, setup.policy()::get, setup.node()).mount(router);
    router.route().last().handler(rc -> json(rc, 404, new JsonObject().put("error", "no such endpoint")));
    server = vertx.createHttpServer().requestHandler(router);
    return cluster
        .compose(v -> policies.start())
        .compose(v -> usage.start())
        .compose(v -> members.start())
        .onSuccess(v -> vertx.setPeriodic(2000, id -> members.names().onSuccess(n -> memberCount = n.size())))
        .compose(v -> server.listen(setup.listen().port(), setup.listen().host()));
  }

  /** Leaves the cluster's member list and stops reporting usage (the node is going away); its last quota counts are sent and saved first. */
  public Future<Void> leave() {
    Future<Void> g = gossip == null ? Future.succeededFuture() : gossip.stop();
    Future<Void> u = usage == null ? Future.succeededFuture() : usage.stop().recover(e -> Future.succeededFuture());
    return Future.join(g, u).transform(ar -> members.leave());
  }

  /** Sends and saves this node's last quota counts (the node is stopping). */
  @Override
  public Future<?> stop() {
    return usage == null ? Future.succeededFuture() : usage.stop().recover(e -> Future.succeededFuture());
  }

  /** Live cluster members as last counted (every 2 s); 1 for a lone node. */
  public int memberCount() {
    return memberCount;
  }

  /** The bound port (useful with port 0 in tests). */
  public int actualPort() {
    return server.actualPort();
  }

  /** {@code /v1} needs the bearer token; compared in constant time. */
  private void authenticate(RoutingContext rc) {
    String given = rc.request().getHeader("authorization");
    if (given != null && MessageDigest.isEqual(token, given.getBytes(StandardCharsets.US_ASCII))) {
      rc.next();
      return;
    }
    rc.response().putHeader("www-authenticate", "Bearer realm=\"tollgate-control\"");
    json(rc, 401, new JsonObject().put("error", "a valid bearer token is required"));
  }

  private void ready(RoutingContext rc) {
    // A full node (its tunnel cap reached) says so, so that the load balancer prefers the others.
    String state = setup.status().get().getString("state");
    boolean r = setup.ready().get() && "ready".equals(state);
    json(rc, r ? 200 : 503, new JsonObject().put("status", state));
  }

  /** Every node's tunnels (optionally one user's), oldest first; partial when a node did not answer. */
  private void listTunnels(RoutingContext rc) {
    JsonObject ask = new JsonObject();
    String user = rc.request().getParam("user");
    if (user != null) {
      ask.put("user", user);
    }
    members.ask(Addresses.TUNNELS_LIST, ask).onComplete(ar -> {
      if (ar.failed()) {
        answer(rc, null, ar.cause());
        return;
      }
      List<JsonObject> tunnels = new ArrayList<>();
      ar.result().replies().values().forEach(r -> r.getJsonArray("tunnels").forEach(t -> tunnels.add((JsonObject) t)));
      tunnels.sort(Comparator.comparing(t -> Instant.parse(t.getString("openedAt"))));
      json(rc, 200, new JsonObject().put("node", setup.node()).put("tunnels", new JsonArray(new ArrayList<>(tunnels))).mergeIn(ar.result().completeness()));
    });
  }

  /** Closes the tunnel on whichever node holds it. */
  private void killTunnel(RoutingContext rc) {
    members.ask(Addresses.TUNNELS_KILL, new JsonObject().put("id", rc.pathParam("id"))).onComplete(ar -> {
      if (ar.failed()) {
        answer(rc, null, ar.cause());
        return;
      }
      JsonObject body = killed(ar.result());
      if (body.getInteger("killed") > 0) {
        json(rc, 200, body.put("id", rc.pathParam("id")));
      } else {
        json(rc, 404, body.put("error", "no such tunnel"));
      }
    });
  }

  /** {@code DELETE /v1/tunnels?user=NAME}: closes every tunnel of that user on every node. */
  private void killUserTunnels(RoutingContext rc) {
    String user = rc.request().getParam("user");
    if (user == null || user.isEmpty()) {
      json(rc, 400, new JsonObject().put("error", "name the user: DELETE /v1/tunnels?user=NAME").put("path", "user"));
      return;
    }
    members.ask(Addresses.TUNNELS_KILL, new JsonObject().put("user", user)).onComplete(ar -> {
      if (ar.failed()) {
        answer(rc, null, ar.cause());
      } else {
        json(rc, 200, killed(ar.result()).put("user", user));
      }
    });
  }

  private static JsonObject killed(ClusterMembers.Answers answers) {
    int total = 0;
    JsonObject byNode = new JsonObject();
    for (var e : answers.replies().entrySet()) {
      int n = e.getValue().getInteger("killed", 0);
      total += n;
      byNode.put(e.getKey(), n);
    }
    return new JsonObject().put("killed", total).put("nodes", byNode).mergeIn(answers.completeness());
  }

  private void passthrough(RoutingContext rc, JsonObject ask) {
    vertx.eventBus()
        .<JsonObject>request(Addresses.MITM_PASSTHROUGH, ask)
        .onSuccess(m -> json(rc, 200, m.body()))
        .onFailure(e -> json(rc, 503, new JsonObject().put("error", "interception did not answer: " + e.getMessage())));
  }

  private void drain(RoutingContext rc) {
    setup.drain().get();
    json(rc, 202, new JsonObject().put("node", setup.node()).put("state", "draining"));
  }

  private static void answer(RoutingContext rc, JsonObject body, Throwable failure) {
    if (failure != null) {
      json(rc, 503, new JsonObject().put("error", "the cluster did not answer: " + failure.getMessage()));
    } else {
      json(rc, 200, body);
    }
  }

  private static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
