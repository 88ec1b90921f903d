package dev.tollgate.tunnel;

import dev.tollgate.tunnel.impl.Pump;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.net.NetSocket;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One relayed connection pair: client and upstream, bytes both ways with backpressure, on the
 * event loop that accepted the client. Ends when either side closes (after the other side's
 * queued bytes are flushed), or when {@link #close(String)} is called from any thread.
 */
public final class Tunnel {
  private static final Logger LOG = LoggerFactory.getLogger(Tunnel.class);
  private static final long FLUSH_GRACE_MILLIS = 10_000;

  private final String id;
  private final String node;
  private final String clientAddress;
  private final Target target;
  private final Context context;
  private final NetSocket client;
  private final NetSocket upstream;
  private final Instant openedAt = Instant.now();
  private final long openedNanos = System.nanoTime();
  private final Promise<String> closed = Promise.promise();
  private volatile long lastActivityNanos = openedNanos;
  private volatile long bytesUp;
  private volatile long bytesDown;
  private boolean ending;

  Tunnel(String id, String node, String clientAddress, Target target, Context context, NetSocket client, NetSocket upstream) {
    this.id = id;
    this.node = node;
    this.clientAddress = clientAddress;
    this.target = target;
    this.context = context;
    this.client = client;
    this.upstream = upstream;
  }

  /** Starts relaying; must run on the tunnel's context. */
  void start() {
    new Pump(client, upstream, n -> {
      bytesUp += n;
      lastActivityNanos = System.nanoTime();
    }).start();
    new Pump(upstream, client, n -> {
      bytesDown += n;
      lastActivityNanos = System.nanoTime();
    }).start();
    client.endHandler(v -> end("client closed"));
    upstream.endHandler(v -> end("upstream closed"));
    client.closeHandler(v -> end("client closed"));
    upstream.closeHandler(v -> end("upstream closed"));
    client.exceptionHandler(e -> end("client error: " + e.getMessage()));
    upstream.exceptionHandler(e -> end("upstream error: " + e.getMessage()));
  }

  /** Ends the tunnel from any thread: both sides get what is queued for them, then close. */
  public void close(String reason) {
    context.runOnContext(v -> end(reason));
  }

  private void end(String reason) {
    if (ending) {
      return;
    }
    ending = true;
    LOG.debug("tunnel {} to {} ended: {}", id, target.authority(), reason);
    // end() delivers what is queued for each side, then closes it; a peer that never reads is
    // cut after a grace period so that a stuck tunnel cannot live on.
    long grace = context.owner().setTimer(FLUSH_GRACE_MILLIS, t -> {
      client.close();
      upstream.close();
    });
    Future<Void> c = client.end().onFailure(e -> client.close());
    Future<Void> u = upstream.end().onFailure(e -> upstream.close());
    Future.join(c, u).onComplete(ar -> {
      context.owner().cancelTimer(grace);
      closed.tryComplete(reason);
    });
  }

  /** Completes with the reason once the tunnel has ended. */
  public Future<String> closed() {
    return closed.future();
  }

  public String id() {
    return id;
  }

  public Target target() {
    return target;
  }

  long openedNanos() {
    return openedNanos;
  }

  long lastActivityNanos() {
    return lastActivityNanos;
  }

  public TunnelInfo info() {
    return new TunnelInfo(id, node, clientAddress, target.authority(), openedAt, bytesUp, bytesDown);
  }
}
