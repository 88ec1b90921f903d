package dev.tollgate.tunnel;

import dev.tollgate.tunnel.impl.Pump;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;
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
  private Pump up;
  private Pump down;
  private long closeTimer = -1;

  private final TunnelOwner owner;

  Tunnel(String id, String node, String clientAddress, Target target, Context context, NetSocket client, NetSocket upstream, TunnelOwner owner) {
    this.owner = owner;
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
    // A side's end comes after everything it sent was handed to its pump, even when the pump was
    // paused by a slow reader on the other side; a close can come earlier, with bytes still queued
    // inside Vert.x. So the tunnel ends on end; a bare close only arms a grace timer.
    up = Pump.between(context.owner(), client, upstream, n -> {
      bytesUp += n;
      lastActivityNanos = System.nanoTime();
    }, owner.bytes(), () -> end("client closed", client), () -> closedWithoutEnd("client closed"));
    down = Pump.between(context.owner(), upstream, client, n -> {
      bytesDown += n;
      lastActivityNanos = System.nanoTime();
    }, owner.bytes(), () -> end("upstream closed", upstream), () -> closedWithoutEnd("upstream closed"));
    client.exceptionHandler(e -> end("client error: " + e.getMessage(), null));
    upstream.exceptionHandler(e -> end("upstream error: " + e.getMessage(), null));
    up.start();
    down.start();
  }

  /** Ends the tunnel from any thread: both sides get what is queued for them, then close. */
  public void close(String reason) {
    try {
      context.runOnContext(v -> end(reason, null));
    } catch (RejectedExecutionException e) {
      LOG.debug("tunnel {}: event loop already stopped; its channels close with it", id);
    }
  }

  private void closedWithoutEnd(String reason) {
    if (!ending && closeTimer < 0) {
      closeTimer = context.owner().setTimer(FLUSH_GRACE_MILLIS, t -> end(reason, null));
    }
  }

  /**
   * @param ended the side whose stream ended (it is closed, not written to), or null when the
   *     tunnel is ended from outside or on an error
   */
  private void end(String reason, NetSocket ended) {
    if (ending) {
      return;
    }
    ending = true;
    if (closeTimer >= 0) {
      context.owner().cancelTimer(closeTimer);
    }
    up.stop();
    down.stop();
    LOG.debug("tunnel {} to {} ended: {}", id, target.authority(), reason);
    // Each side is closed once what was written to it has left for the kernel (which delivers it
    // before the FIN); a peer that never reads is cut after a grace period instead.
    long grace = context.owner().setTimer(FLUSH_GRACE_MILLIS, t -> {
      cut(client);
      cut(upstream);
    });
    Future<Void> c = client == ended ? client.close() : down.flushed().transform(ar -> closeAfterFlush(client));
    Future<Void> u = upstream == ended ? upstream.close() : up.flushed().transform(ar -> closeAfterFlush(upstream));
    Future.join(c, u).onComplete(ar -> {
      context.owner().cancelTimer(grace);
      up.discardRest();
      down.discardRest();
      owner.release().run();
      closed.tryComplete(reason);
    });
  }

  /**
   * Closes a socket once Netty has written all it holds for it. Vert.x's close discards a
   * channel's unwritten outbound buffer, which for a slow reader still holds the tail of the
   * data; an empty write completes only after everything queued before it.
   */
  private static Future<Void> closeAfterFlush(NetSocket socket) {
    if (!(socket instanceof ConnectionBase connection)) {
      return socket.close(); // an h2 stream: closing ends the stream after its queued data
    }
    Channel channel = connection.channel();
    Promise<Void> done = Promise.promise();
    channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> channel.close().addListener(g -> done.tryComplete()));
    return done.future();
  }

  /**
   * Closes a socket without waiting for what is queued for it. Vert.x's own close first writes an
   * empty buffer behind the queue, which never leaves for a peer that does not read; closing the
   * channel below Vert.x's handler does not wait, and Vert.x then drops (and releases) the queue.
   */
  private static void cut(NetSocket socket) {
    if (socket instanceof NetSocketInternal internal) {
      internal.channelHandlerContext().close();
    } else {
      socket.close(); // an h2 stream
    }
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

  /** Whether both directions move Netty's buffers as read (for tests). */
  boolean movesChannelBuffers() {
    return up.movesChannelBuffers() && down.movesChannelBuffers();
  }

  /** Bytes read from either side after the tunnel had ended, dropped and their buffers released (for tests). */
  long discardedBytes() {
    return up.discarded() + down.discarded();
  }

  long openedNanos() {
    return openedNanos;
  }

  long lastActivityNanos() {
    return lastActivityNanos;
  }

  /** The authenticated user, or null. */
  public String user() {
    return owner.user();
  }

  /** Whether the policy decided this tunnel (and may close it again, see {@link TunnelOwner}). */
  boolean decidedByPolicy() {
    return owner.decidedByPolicy();
  }

  public TunnelInfo info() {
    return new TunnelInfo(id, node, clientAddress, owner.user(), target.authority(), openedAt, bytesUp, bytesDown);
  }
}
