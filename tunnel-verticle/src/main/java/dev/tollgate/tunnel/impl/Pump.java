package dev.tollgate.tunnel.impl;

import dev.tollgate.common.limits.TokenBucket;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * Moves buffers one way with backpressure: when the destination's write queue is full the source
 * is paused, and resumed on drain, so a slow reader never grows the heap. With a byte bucket it
 * also shapes: after bytes that put the bucket in debt, the source is paused until the debt is
 * paid (never dropping data). Counts what it moves.
 */
public final class Pump {
  private final Vertx vertx;
  private final ReadStream<Buffer> source;
  private final WriteStream<Buffer> destination;
  private final IntConsumer onBytes;
  private final TokenBucket bytes;
  private final BooleanSupplier destinationGone;
  private Future<Void> lastWrite = Future.succeededFuture();
  private boolean queueFull;
  private long rateTimer = -1;

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
    this.destinationGone = destinationGone;
    this.vertx = vertx;
    this.source = source;
    this.destination = destination;
    this.onBytes = onBytes;
    this.bytes = bytes;
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
          onBytes.accept(buffer.length());
          lastWrite = destination.write(buffer);
          if (destination.writeQueueFull()) {
            queueFull = true;
            source.pause();
          }
          if (bytes != null) {
            long waitNanos = bytes.consume(buffer.length(), System.nanoTime());
            if (waitNanos > 0 && rateTimer < 0) {
              source.pause();
              rateTimer = vertx.setTimer(Math.max(1, waitNanos / 1_000_000), t -> {
                rateTimer = -1;
                resumeIfFree();
              });
            }
          }
        });
    source.resume();
  }

  private void resumeIfFree() {
    if (!queueFull && rateTimer < 0) {
      source.resume();
    }
  }

  /**
   * Cancels the shaping timer and leaves the source flowing: a pooled upstream connection must not
   * go back to its pool paused, or the next request on it would never be read.
   */
  public void stop() {
    if (rateTimer >= 0) {
      vertx.cancelTimer(rateTimer);
      rateTimer = -1;
      source.resume();
    }
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
