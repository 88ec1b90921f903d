package dev.tollgate.tunnel.rewrite;

import dev.tollgate.common.policy.Policy;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.function.Supplier;

/**
 * The policy's {@code rewrite} rules applied to forwarded exchanges. {@link #exchange} is asked
 * once per request: it returns null when no rule matches, and the forwarder then goes its usual
 * streaming way untouched. One per forwarder (event loop); stateless between requests.
 */
public final class Rewriter {
  /**
   * Bodies larger than this (as received) are decoded, rewritten and encoded on a worker thread:
   * below it the work takes well under a millisecond and a thread hop would cost more.
   */
  public static final int INLINE_LIMIT = 256 * 1024;
  /** The same for compressed bodies, whose decoded size may be many times their wire size. */
  public static final int INLINE_LIMIT_COMPRESSED = 32 * 1024;

  private final Vertx vertx;
  private final Supplier<Policy> policy;
  private final int maxBody;

  /**
   * @param policy the policy in force, read per request
   * @param maxBody {@code mitm.rewriteMaxBody}: the largest body (as received, and decoded)
   *     rewritten; larger ones pass unmodified
   */
  public Rewriter(Vertx vertx, Supplier<Policy> policy, int maxBody) {
    this.vertx = vertx;
    this.policy = policy;
    this.maxBody = maxBody;
  }

  /**
   * The rewrite of a request for {@code host} at {@code pathAndQuery}, or null when no rule
   * applies to it.
   */
  public ExchangeRewrite exchange(String host, String pathAndQuery) {
    var rules = policy.get().rewritesFor(host, pathAndQuery);
    return rules.isEmpty() ? null : new ExchangeRewrite(vertx, List.copyOf(rules), host + pathAndQuery, maxBody);
  }
}
