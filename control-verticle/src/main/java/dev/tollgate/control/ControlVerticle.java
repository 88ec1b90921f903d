package dev.tollgate.control;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.control.impl.PolicyApi;

/**
 * The control listener: {@code /healthz}, {@code /readyz} and the {@code /v1} API. Tunnel
 * listings and kills go to the tunnel verticle over the event bus (control only, never bytes).
 */
public final class ControlVerticle extends VerticleBase {
  private final HostPort listen;
  private final byte[] token;
  private final AtomicBoolean ready;
  private final PolicyStore policyStore;
  private final AtomicReference<Policy> policy;
  private HttpServer server;

  /**
   * @param listen where the control API listens
   * @param token the bearer token that everything under {@code /v1} requires
   * @param ready the node's readiness, reported by {@code /readyz}
   * @param policyStore the node's policy versions
   * @param policy the policy in force, swapped when a new version is accepted
   */
  public ControlVerticle(HostPort listen, String token, AtomicBoolean ready, PolicyStore policyStore, AtomicReference<Policy> policy) {
    this.listen = listen;
    this.policyStore = policyStore;
    this.policy = policy;
    this.token = ("Bearer " + token).getBytes(StandardCharsets.US_ASCII);
    this.ready = ready;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/healthz").handler(rc -> json(rc, 200, new JsonObject().put("status", "ok")));
    router.get("/readyz").handler(rc -> ready(rc));
    router.route("/v1/*").handler(this::authenticate);
    router.get("/v1/tunnels").handler(this::listTunnels);
    router.delete("/v1/tunnels/:id").handler(this::killTunnel);
    new PolicyApi(vertx, policyStore, policy).mount(router);
    router.route().last().handler(rc -> json(rc, 404, new JsonObject().put("error", "no such endpoint")));
    server = vertx.createHttpServer().requestHandler(router);
    return server.listen(listen.port(), listen.host());
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
    boolean r = ready.get();
    json(rc, r ? 200 : 503, new JsonObject().put("status", r ? "ready" : "not ready"));
  }

  private void listTunnels(RoutingContext rc) {
    vertx.eventBus()
        .<JsonObject>request(Addresses.TUNNELS_LIST, new JsonObject())
        .map(Message::body)
        .onSuccess(body -> json(rc, 200, body))
        .onFailure(e -> json(rc, 503, new JsonObject().put("error", "tunnel registry did not answer: " + e.getMessage())));
  }

  private void killTunnel(RoutingContext rc) {
    vertx.eventBus()
        .<JsonObject>request(Addresses.TUNNELS_KILL, new JsonObject().put("id", rc.pathParam("id")))
        .map(Message::body)
        .onSuccess(body -> {
          boolean killed = body.getBoolean("killed", false);
          json(rc, killed ? 200 : 404, killed ? body : new JsonObject().put("error", "no such tunnel"));
        })
        .onFailure(e -> json(rc, 503, new JsonObject().put("error", "tunnel registry did not answer: " + e.getMessage())));
  }

  private static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
