package dev.tollgate.tunnel.impl;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import java.util.function.IntConsumer;

/**
 * Moves buffers one way with backpressure: when the destination's write queue is full the source
 * is paused, and resumed on drain, so a slow reader never grows the heap. Counts what it moves.
 */
public final class Pump {
  private final ReadStream<Buffer> source;
  private final WriteStream<Buffer> destination;
  private final IntConsumer onBytes;
  private Future<Void> lastWrite = Future.succeededFuture();

  public Pump(ReadStream<Buffer> source, WriteStream<Buffer> destination, IntConsumer onBytes) {
    this.source = source;
    this.destination = destination;
    this.onBytes = onBytes;
  }

  public void start() {
    destination.drainHandler(v -> source.resume());
    source.handler(
        buffer -> {
          onBytes.accept(buffer.length());
          lastWrite = destination.write(buffer);
          if (destination.writeQueueFull()) {
            source.pause();
          }
        });
    source.resume();
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
