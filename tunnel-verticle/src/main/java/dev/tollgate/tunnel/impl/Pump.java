package dev.tollgate.tunnel.impl;

import dev.tollgate.common.limits.TokenBucket;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.net.impl.MessageWrite;
import io.vertx.core.net.impl.VertxConnection;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * Moves buffers one way with backpressure: when the destination's write queue is full the source
 * is paused, and resumed on drain, so a slow reader never grows the heap. With a byte bucket it
 * also shapes: after bytes that put the bucket in debt, the source is paused until the debt is
 * paid (never dropping data). Counts what it moves.
 *
 * <p>Between two TCP sockets on one event loop ({@link #between}) it moves Netty's own buffers:
 * what one channel read is written to the other as is, without the two copies of the {@link
 * Buffer} path (into a heap buffer on read, back into a direct one on write). It switches to that
 * only once whatever Vert.x had already queued as buffers has gone through, so order holds.
 */
public final class Pump {
  /** Unused bytes in a queued read buffer above which its bytes move to one of their size. */
  private static final int SLACK_LIMIT = 4 * 1024;

  private final Vertx vertx;
  private final ReadStream<Buffer> source;
  private final WriteStream<Buffer> destination;
  private final IntConsumer onBytes;
  private final TokenBucket bytes;
  private final BooleanSupplier destinationGone;
  private final NetSocketInternal rawSource;
  private final VertxConnection rawDestination;
  private Future<Void> lastWrite = Future.succeededFuture();
  private boolean queueFull;
  private long rateTimer = -1;
  private int pauses;
  private boolean raw;
  private boolean stopped;
  private boolean discard;
  private boolean sourceClosed;
  private boolean endSignalled;
  private long discarded;
  private Runnable ended = () -> {};

  /** @param bytes the byte bucket to shape by, or null for none */
  public Pump(Vertx vertx, ReadStream<Buffer> source, WriteStream<Buffer> destination, IntConsumer onBytes, TokenBucket bytes) {
    this(vertx, source, destination, onBytes, bytes, () -> false);
  }

  /**
   * @param destinationGone true once the destination can take no more (a client that left): what
   *     the source still delivers is dropped instead of written into a closed stream
   */
  public Pump(
      Vertx vertx,
      ReadStream<Buffer> source,
      WriteStream<Buffer> destination,
      IntConsumer onBytes,
      TokenBucket bytes,
      BooleanSupplier destinationGone) {
    this(vertx, source, destination, onBytes, bytes, destinationGone, null, null);
  }

  private Pump(
      Vertx vertx,
      ReadStream<Buffer> source,
      WriteStream<Buffer> destination,
      IntConsumer onBytes,
      TokenBucket bytes,
      BooleanSupplier destinationGone,
      NetSocketInternal rawSource,
      VertxConnection rawDestination) {
    this.destinationGone = destinationGone;
    this.vertx = vertx;
    this.source = source;
    this.destination = destination;
    this.onBytes = onBytes;
    this.bytes = bytes;
    this.rawSource = rawSource;
    this.rawDestination = rawDestination;
  }

  /**
   * A pump from one socket to another that also reports the source's end: {@code ended} runs once
   * the source has closed and everything it sent has been handed to the destination; {@code
   * closed} runs when the source's connection closes, which can be earlier, while the pump is
   * paused with data still queued. Call {@link #discardRest()} once both sockets are closed.
   */
  public static Pump between(
      Vertx vertx, NetSocket source, NetSocket destination, IntConsumer onBytes, TokenBucket bytes, Runnable ended, Runnable closed) {
    boolean sameLoop =
        source instanceof NetSocketInternal s
            && source instanceof ConnectionBase sc
            && destination instanceof NetSocketInternal d
            && destination instanceof VertxConnection dc
            && sc.context().threadingModel() == ThreadingModel.EVENT_LOOP
            && dc.context().threadingModel() == ThreadingModel.EVENT_LOOP
            && s.channelHandlerContext().executor() == d.channelHandlerContext().executor();
    Pump pump =
        sameLoop
            ? new Pump(vertx, source, destination, onBytes, bytes, () -> false, (NetSocketInternal) source, (VertxConnection) destination)
            : new Pump(vertx, source, destination, onBytes, bytes);
    pump.ended = ended;
    source.endHandler(v -> pump.signalEnd());
    source.closeHandler(
        v -> {
          pump.sourceClosed = true;
          closed.run();
          if (pump.raw && !pump.paused()) {
            pump.signalEnd(); // a raw source's end is its close once nothing of it is left queued
          }
        });
    return pump;
  }

  public void start() {
    destination.drainHandler(v -> {
      queueFull = false;
      resumeIfFree();
    });
    source.handler(
        buffer -> {
          if (destinationGone.getAsBoolean()) {
            return;
          }
          moved(buffer.length(), destination.write(buffer));
        });
    source.resume();
    switchToRawSoon();
  }

  private void moved(int length, Future<Void> write) {
    onBytes.accept(length);
    lastWrite = write;
    if (destination.writeQueueFull()) {
      queueFull = true;
      pause();
    }
    if (bytes != null) {
      long waitNanos = bytes.consume(length, System.nanoTime());
      if (waitNanos > 0 && rateTimer < 0) {
        pause();
        rateTimer = vertx.setTimer(Math.max(1, waitNanos / 1_000_000), t -> {
          rateTimer = -1;
          resumeIfFree();
        });
      }
    }
  }

  private void pause() {
    pauses++;
    source.pause();
  }

  private boolean paused() {
    return queueFull || rateTimer >= 0;
  }

  private void resumeIfFree() {
    if (!paused()) {
      source.resume();
      if (raw && sourceClosed && !paused()) {
        signalEnd(); // the resume handed over what was left of a closed source
      }
      switchToRawSoon();
    }
  }

  /**
   * A resume asks Vert.x to hand over its queued buffers in a task of its own on the event loop;
   * a task queued now runs after it. If the pump has not paused since, that queue is empty and
   * stays empty, and the channel's own messages can go straight to the destination.
   */
  private void switchToRawSoon() {
    if (rawSource == null || raw || stopped) {
      return;
    }
    int pausesNow = pauses;
    // the source's own event loop, where Vert.x queued its drain
    rawSource.channelHandlerContext().executor().execute(() -> {
      if (!raw && !stopped && !sourceClosed && pauses == pausesNow && !paused()) {
        raw = true;
        rawSource.messageHandler(this::moveRaw);
      }
    });
  }

  private void moveRaw(Object message) {
    if (!(message instanceof ByteBuf buf)) {
      ReferenceCountUtil.release(message);
      return;
    }
    if (discard) {
      discarded += buf.readableBytes();
      buf.release();
      return;
    }
    int length = buf.readableBytes();
    if (buf.capacity() - length > SLACK_LIMIT && length < buf.capacity() / 2 && !rawDestination.channel().isWritable()) {
      // a small read in a large buffer that will wait in a queue: a peer sending small pieces to
      // one that does not read must not make each queued byte hold many
      buf = rightSized(buf);
    }
    ByteBuf sent = buf;
    Promise<Void> written = Promise.promise();
    rawDestination.writeToChannel(
        new MessageWrite() {
          @Override
          public void write() {
            rawDestination.write(sent, false, written);
          }

          @Override
          public void cancel(Throwable cause) {
            sent.release(); // never written: the destination closed with it still queued
            written.tryFail(cause);
          }
        });
    moved(length, written.future());
  }

  private ByteBuf rightSized(ByteBuf buf) {
    try {
      ByteBuf copy = rawDestination.channelHandlerContext().alloc().directBuffer(buf.readableBytes());
      return copy.writeBytes(buf);
    } finally {
      buf.release();
    }
  }

  private void signalEnd() {
    if (!endSignalled) {
      endSignalled = true;
      ended.run();
    }
  }

  /**
   * Cancels the shaping timer and leaves the source flowing: a pooled upstream connection must not
   * go back to its pool paused, or the next request on it would never be read.
   */
  public void stop() {
    stopped = true;
    if (rateTimer >= 0) {
      vertx.cancelTimer(rateTimer);
      rateTimer = -1;
      source.resume();
    }
  }

  /**
   * Releases what a closed source still had queued (Netty's pooled buffers are not garbage
   * collected, and Vert.x keeps what a paused connection read): called once both sockets are
   * closed. Resuming hands all of it to the pump, which drops it.
   */
  public void discardRest() {
    stopped = true;
    discard = true;
    if (source instanceof NetSocketInternal) {
      source.handler(buffer -> discarded += buffer.length());
      queueFull = false;
      source.resume();
    }
  }

  /** Bytes read from the source but dropped by {@link #discardRest()}: the tunnel had ended. */
  public long discarded() {
    return discarded;
  }

  /** Whether the pump now moves the channel's own buffers (see {@link #between}). */
  public boolean movesChannelBuffers() {
    return raw;
  }

  /**
   * Completes when everything this pump wrote has left for the kernel. Closing the destination
   * earlier would drop what a slow reader has not taken yet: a channel's close discards its
   * unwritten outbound buffer.
   */
  public Future<Void> flushed() {
    return lastWrite.transform(ar -> Future.succeededFuture());
  }
}
