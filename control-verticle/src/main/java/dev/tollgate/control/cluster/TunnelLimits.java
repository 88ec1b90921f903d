package dev.tollgate.control.cluster;

import dev.tollgate.common.Addresses;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Limits;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.tunnel.TunnelInfo;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a new policy's limits to tunnels already open: bandwidth at once (the users' buckets are
 * reconfigured in place), and, with {@code enforceOnOpenTunnels}, a lowered {@code maxTunnels}
 * by closing the user's newest tunnels over the limit, counted over the whole cluster. Every node
 * runs the same computation on the same listing (all of the user's tunnels, from every node,
 * newest first) and closes only its own, so together they close exactly the excess.
 */
public final class TunnelLimits {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelLimits.class);

  private final String node;
  private final UserLimiter limiter;
  private final TunnelRegistry registry;
  private final ClusterMembers members;

  public TunnelLimits(String node, UserLimiter limiter, TunnelRegistry registry, ClusterMembers members) {
    this.node = node;
    this.limiter = limiter;
    this.registry = registry;
    this.members = members;
  }

  public Future<Void> apply(Policy policy) {
    limiter.applyLimits(policy::limitsFor, System.nanoTime());
    if (!policy.enforceOnOpenTunnels()) {
      return Future.succeededFuture();
    }
    Map<String, Long> local = registry.list().stream()
        .filter(t -> t.user() != null)
        .collect(Collectors.groupingBy(TunnelInfo::user, Collectors.counting()));
    List<Future<?>> all = new ArrayList<>();
    local.forEach((user, count) -> {
      Limits limits = policy.limitsFor(user);
      if (limits.maxTunnels() > 0 && count + limiter.remoteTunnels(user) > limits.maxTunnels()) {
        all.add(trim(user, limits.maxTunnels(), policy.version()));
      }
    });
    return Future.join(all).mapEmpty();
  }

  private Future<Void> trim(String user, int max, int version) {
    return members.ask(Addresses.TUNNELS_LIST, new JsonObject().put("user", user)).map(answers -> {
      List<JsonObject> tunnels = new ArrayList<>();
      answers.replies().values().forEach(r -> r.getJsonArray("tunnels").forEach(t -> tunnels.add((JsonObject) t)));
      tunnels.sort(Comparator.comparing((JsonObject t) -> java.time.Instant.parse(t.getString("openedAt"))).thenComparing(t -> t.getString("id")).reversed());
      int closed = 0;
      for (int i = 0; i < tunnels.size() - max; i++) {
        JsonObject t = tunnels.get(i);
        if (node.equals(t.getString("node")) && registry.kill(t.getString("id"), "over maxTunnels " + max + " of policy v" + version)) {
          closed++;
        }
      }
      if (closed > 0) {
        LOG.info("policy v{}: closed {} of {}'s newest tunnel(s) over maxTunnels {}", version, closed, user, max);
      }
      return null;
    });
  }
}
