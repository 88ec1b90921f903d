package dev.tollgate.control.impl;

import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.quota.Counts;
import dev.tollgate.common.quota.Periods;
import dev.tollgate.common.quota.QuotaLedger;
import dev.tollgate.control.cluster.UsageSync;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /v1/usage}, {@code GET /v1/usage/{user}} and {@code DELETE /v1/usage/{user}}: every
 * user's usage in the current UTC day and month, cluster-wide as this node knows it (at most a
 * second behind), with the quota in force and the first quota used up. Unauthenticated clients are
 * the user {@code -}.
 */
public final class UsageApi {
  private final QuotaLedger ledger;
  private final UsageSync sync;
  private final Supplier<Policy> policy;
  private final String node;

  public UsageApi(QuotaLedger ledger, UsageSync sync, Supplier<Policy> policy, String node) {
    this.ledger = ledger;
    this.sync = sync;
    this.policy = policy;
    this.node = node;
  }

  public void mount(Router router) {
    router.get("/v1/usage").handler(this::all);
    router.get("/v1/usage/:user").handler(this::one);
    router.delete("/v1/usage/:user").handler(this::reset);
  }

  private Map<String, QuotaLedger.Usage> usage() {
    Policy p = policy.get();
    return ledger.usage(key -> p.quotaFor(UserLimiter.ANONYMOUS.equals(key) ? null : key));
  }

  private void all(RoutingContext rc) {
    JsonObject users = new JsonObject();
    usage().forEach((user, u) -> users.put(user, json(u)));
    json(rc, 200, header().put("users", users));
  }

  private void one(RoutingContext rc) {
    String user = rc.pathParam("user");
    QuotaLedger.Usage u = usage().get(user);
    if (u == null) {
      // A user with no usage anywhere: zero, under the quota that would apply.
      Policy p = policy.get();
      u = new QuotaLedger.Usage(ledger.periods(), Counts.ZERO, Counts.ZERO,
          p.quotaFor(UserLimiter.ANONYMOUS.equals(user) ? null : user), null);
    }
    json(rc, 200, header().put("user", user).mergeIn(json(u)));
  }

  private void reset(RoutingContext rc) {
    String user = rc.pathParam("user");
    sync.reset(user, "control-api " + rc.request().remoteAddress())
        .onSuccess(at -> json(rc, 200, new JsonObject().put("user", user).put("resetAt", Instant.ofEpochMilli(at).toString()).put("node", node)))
        .onFailure(e -> json(rc, 503, new JsonObject().put("error", "reset failed: " + e.getMessage())));
  }

  private JsonObject header() {
    Periods p = ledger.periods();
    return new JsonObject()
        .put("node", node)
        .put("periods", new JsonObject()
            .put("day", new JsonObject().put("period", p.day().substring(1)).put("endsAt", Instant.ofEpochMilli(p.dayEnd()).toString()))
            .put("month", new JsonObject().put("period", p.month().substring(1)).put("endsAt", Instant.ofEpochMilli(p.monthEnd()).toString())));
  }

  private static JsonObject json(QuotaLedger.Usage u) {
    JsonObject o = new JsonObject().put("day", u.day().toJson()).put("month", u.month().toJson()).put("quota", u.quota().toJson());
    if (u.denial() != null) {
      o.put("exceeded", new JsonObject().put("quota", u.denial().quota()).put("limit", u.denial().limit()).put("used", u.denial().used())
          .put("retryAfterSeconds", u.denial().retryAfterSeconds()));
    }
    return o;
  }

  private static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
