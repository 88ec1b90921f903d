package dev.tollgate.control.impl;

import dev.tollgate.common.policy.Htpasswd;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyException;
import dev.tollgate.control.PolicyService;
import dev.tollgate.control.PolicyStore;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * {@code /v1/policy}: read, replace (with {@code If-Match}), validate, history and rollback. A
 * policy that does not validate is answered 400 with the path of the bad field and changes
 * nothing; an accepted one goes through {@link PolicyService} (stored, swapped in atomically,
 * shared with the cluster).
 */
public final class PolicyApi {
  static final long MAX_BODY = 1024 * 1024;

  private final Vertx vertx;
  private final PolicyStore store;
  private final PolicyService service;

  public PolicyApi(Vertx vertx, PolicyService service) {
    this.vertx = vertx;
    this.service = service;
    this.store = service.store();
  }

  public void mount(Router router) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(MAX_BODY);
    router.errorHandler(413, rc -> error(rc, 413, "the policy is larger than " + MAX_BODY + " bytes", null));
    router.get("/v1/policy").handler(this::get);
    router.put("/v1/policy").handler(body).handler(this::put);
    router.post("/v1/policy/validate").handler(body).handler(this::validate);
    router.get("/v1/policy/history").handler(this::history);
    router.post("/v1/policy/rollback/:version").handler(this::rollback);
  }

  private void get(RoutingContext rc) {
    PolicyStore.Entry e = store.current();
    rc.response().putHeader("etag", etag(e.version())).putHeader("content-type", "application/json").end(e.policy().toJson().encodePrettily());
  }

  private void put(RoutingContext rc) {
    Policy policy = parse(rc);
    if (policy == null) {
      return;
    }
    service
        .accept(policy, who(rc), rc.request().getHeader("if-match"))
        .onSuccess(entry -> rc.response().setStatusCode(200).putHeader("etag", etag(entry.version())).putHeader("content-type", "application/json")
            .end(new JsonObject().put("version", entry.version()).encode()))
        .onFailure(e -> {
          if (e instanceof PolicyService.StaleVersion) {
            error(rc, 412, e.getMessage(), null);
          } else if (e instanceof PolicyException pe) {
            error(rc, 400, pe.getMessage(), pe.path());
          } else {
            error(rc, 500, "cannot store the policy: " + e.getMessage(), null);
          }
        });
  }

  private void validate(RoutingContext rc) {
    Policy policy = parse(rc);
    if (policy == null) {
      return;
    }
    // The same checks as a PUT, the htpasswd file included (read on a worker).
    vertx.executeBlocking(() -> Htpasswd.resolve(policy), false)
        .onSuccess(p -> rc.response().putHeader("content-type", "application/json").end(new JsonObject().put("valid", true).encode()))
        .onFailure(e -> {
          if (e instanceof PolicyException pe) {
            error(rc, 400, pe.getMessage(), pe.path());
          } else {
            error(rc, 500, "cannot validate the policy: " + e.getMessage(), null);
          }
        });
  }

  private void history(RoutingContext rc) {
    JsonArray list = new JsonArray(store.history().stream().map(PolicyStore.Entry::summary).toList());
    rc.response().putHeader("content-type", "application/json").end(new JsonObject().put("current", store.current().version()).put("versions", list).encode());
  }

  private void rollback(RoutingContext rc) {
    int version;
    try {
      version = Integer.parseInt(rc.pathParam("version"));
    } catch (NumberFormatException e) {
      error(rc, 400, "version must be a number", "version");
      return;
    }
    var target = store.find(version);
    if (target.isEmpty()) {
      error(rc, 404, "no version " + version + " in the history", null);
      return;
    }
    String who = who(rc) + " (rollback to " + version + ")";
    service
        .accept(target.get().policy(), who, null)
        .onSuccess(entry -> rc.response().putHeader("etag", etag(entry.version())).putHeader("content-type", "application/json")
            .end(new JsonObject().put("version", entry.version()).put("rolledBackTo", version).encode()))
        .onFailure(e -> error(rc, 500, "cannot store the policy: " + e.getMessage(), null));
  }

  /** The validated policy of the request body, or null after answering 415/400. */
  private static Policy parse(RoutingContext rc) {
    String type = rc.request().getHeader("content-type");
    if (type == null || !type.toLowerCase().startsWith("application/json")) {
      error(rc, 415, "send the policy as application/json", null);
      return null;
    }
    JsonObject json;
    try {
      json = rc.body().asJsonObject();
    } catch (DecodeException e) {
      error(rc, 400, "the body is not JSON: " + e.getMessage(), "");
      return null;
    } catch (ClassCastException e) {
      error(rc, 400, "the body is not a JSON object", "");
      return null;
    }
    if (json == null) {
      error(rc, 400, "the body is empty", "");
      return null;
    }
    try {
      return Policy.fromJson(json);
    } catch (PolicyException e) {
      error(rc, 400, e.getMessage(), e.path());
      return null;
    }
  }

  private static String who(RoutingContext rc) {
    var remote = rc.request().remoteAddress();
    return remote == null ? "unknown" : remote.hostAddress();
  }

  static String etag(int version) {
    return PolicyService.etag(version);
  }

  private static void error(RoutingContext rc, int status, String message, String path) {
    JsonObject body = new JsonObject().put("error", message);
    if (path != null) {
      body.put("path", path);
    }
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
