package dev.tollgate.ingress.terminate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;

/**
 * Writes one response of a {@link FastExchange} to the client: bytes that are HTTP already,
 * entering the pipeline below Vert.x's encoder. The head is held, with the body that follows it
 * while both fit {@link #GATHER_MAX}, so that a small response goes out as one write (one TLS
 * record); a body that ends with the backend's connection is reframed as chunked. Confined to the
 * connection's event loop.
 */
final class ClientResponseWriter {
  /** Response bytes gathered behind the head into one write, at most. */
  static final int GATHER_MAX = 16 * 1024;

  private static final byte[] CRLF_BYTES = {'\r', '\n'};
  private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(Unpooled.directBuffer(2).writeBytes(CRLF_BYTES)).asReadOnly();
  private static final ByteBuf LAST_CHUNK =
      Unpooled.unreleasableBuffer(Unpooled.directBuffer(5).writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).asReadOnly();

  private final ChannelHandlerContext wire;
  /** The head not yet written, with what followed it while it fits {@link #GATHER_MAX}. */
  private ByteBuf gathered;
  private boolean unflushed;
  private boolean rechunk;

  /** @param wire where the bytes enter the client's pipeline */
  ClientResponseWriter(ChannelHandlerContext wire) {
    this.wire = wire;
  }

  /**
   * Holds the encoded head.
   *
   * @param rechunk whether the body ends with the backend's connection, and goes to the client chunked
   */
  void head(ByteBuf head, boolean rechunk) {
    this.gathered = head;
    this.rechunk = rechunk;
  }

  /** Body bytes (owned from here); {@code payload}: how many of them are content. */
  void body(ByteBuf bytes, int payload) {
    if (gathered != null && gathered.readableBytes() + bytes.readableBytes() + (rechunk ? 12 : 0) <= GATHER_MAX) {
      if (rechunk) {
        chunkSize(gathered, payload);
      }
      gathered.writeBytes(bytes);
      bytes.release();
      if (rechunk) {
        gathered.writeBytes(CRLF_BYTES);
      }
    } else if (rechunk) {
      ByteBuf size = wire.alloc().buffer(10);
      chunkSize(size, payload);
      write(size);
      write(bytes);
      write(CRLF.duplicate());
    } else {
      write(bytes);
    }
  }

  /** Whether bytes wait for a flush. */
  boolean pending() {
    return unflushed || gathered != null;
  }

  void flush() {
    writeGathered();
    unflushed = false;
    wire.flush();
  }

  /** The response is complete: what remains goes out, and the connection closes after it when {@code close}. */
  void end(boolean close) {
    ByteBuf last = rechunk ? LAST_CHUNK.duplicate() : Unpooled.EMPTY_BUFFER;
    ByteBuf out = last;
    if (gathered != null) {
      gathered.writeBytes(last);
      out = gathered;
      gathered = null;
    }
    unflushed = false;
    if (close) {
      wire.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    } else if (out.isReadable()) {
      wire.writeAndFlush(out, wire.voidPromise());
    } else {
      wire.flush();
    }
  }

  /** The response broke after its head: what was passed on goes out, then the connection closes (a bare close would drop it). */
  void cut() {
    writeGathered();
    unflushed = false;
    wire.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  /** Lets go of what was not written (the client left). */
  void discard() {
    if (gathered != null) {
      gathered.release();
      gathered = null;
    }
  }

  private static void chunkSize(ByteBuf out, int size) {
    out.writeCharSequence(Integer.toHexString(size), StandardCharsets.US_ASCII);
    out.writeBytes(CRLF_BYTES);
  }

  private void write(ByteBuf bytes) {
    writeGathered();
    wire.write(bytes, wire.voidPromise());
    unflushed = true;
  }

  private void writeGathered() {
    if (gathered != null) {
      ByteBuf g = gathered;
      gathered = null;
      wire.write(g, wire.voidPromise());
      unflushed = true;
    }
  }
}
