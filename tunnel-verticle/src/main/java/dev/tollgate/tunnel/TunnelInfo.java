package dev.tollgate.tunnel;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * A snapshot of one live tunnel, as listed by {@code GET /v1/tunnels}.
 *
 * @param id node-unique tunnel id
 * @param node the node holding it
 * @param client the client's address ({@code ip:port})
 * @param user the authenticated user, or null
 * @param target the CONNECT target ({@code host:port})
 * @param openedAt when the tunnel was established
 * @param bytesUp bytes relayed client to upstream so far
 * @param bytesDown bytes relayed upstream to client so far
 */
public record TunnelInfo(
    String id, String node, String client, String user, String target, Instant openedAt, long bytesUp, long bytesDown) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id)
        .put("node", node)
        .put("client", client)
        .put("user", user)
        .put("target", target)
        .put("openedAt", openedAt.toString())
        .put("bytesUp", bytesUp)
        .put("bytesDown", bytesDown);
  }
}
