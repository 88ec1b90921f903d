package dev.tollgate.ingress.terminate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Reads a plain backend's HTTP/1.x responses for the {@link Http1FastPath} straight from the
 * bytes of its connection, without decoding them into message objects: the head is checked and
 * split into lines in place, and the body is passed on as slices of the bytes read. A chunked
 * body keeps its framing, checked chunk by chunk on the way (so that the client's connection can
 * never be desynchronised by it); a body that ends with the connection is reframed as chunked by
 * the exchange. Interim (1xx) responses are read and skipped. One response at a time; confined to
 * the backend connection's event loop.
 */
final class BackendResponseReader {
  /** Status line and header section together, at most (as the decoder this replaced allowed). */
  static final int MAX_HEAD = 16 * 1024 + 64 * 1024;
  /** A chunk-size line with its extensions, and a trailer section, at most. */
  private static final int MAX_CHUNK_LINE = 4096;
  private static final int MAX_TRAILERS = 64 * 1024;

  /** How a response body is delimited. */
  enum Framing {
    /** No body: a response to HEAD, a 204 or a 304. */
    NONE,
    LENGTH,
    CHUNKED,
    /** Until the backend closes the connection. */
    UNTIL_CLOSE
  }

  /** Where the parts of a response go. */
  interface Sink {
    /** The head of a final response, valid during the call only. */
    void head(BackendResponseHead head);

    /**
     * Body bytes as they go to the client: the bytes of a fixed-length body, or a chunked body's
     * chunks with their framing. The sink owns {@code bytes}.
     *
     * @param payload how many of them are content (without chunk framing)
     */
    void body(ByteBuf bytes, int payload);

    /**
     * The response is complete.
     *
     * @param reusable whether the connection can carry another request
     */
    void end(boolean reusable);
  }

  /** A response the reader refuses: the exchange answers 502 (or cuts the client off once a head is out). */
  static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  private enum State { IDLE, HEAD, LENGTH, CHUNK_SIZE, CHUNK_EXT, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF, TRAILER, UNTIL_CLOSE }

  private final BackendResponseHead head = new BackendResponseHead();
  private State state = State.IDLE;
  private boolean headRequest;
  /** Bytes of a head split over reads. */
  private ByteBuf cumulation;
  private long remaining;
  private boolean reusable;
  private int lineLength;
  private boolean digits;
  private boolean lineEmpty;
  private boolean sawCr;
  private int trailerBytes;

  /** The next response answers a request with this method ({@code HEAD}: no body whatever it says). */
  void expect(boolean headRequest) {
    this.headRequest = headRequest;
    state = State.HEAD;
  }

  /** Whether a body that ends with the connection is being read (the close completes it). */
  boolean readingUntilClose() {
    return state == State.UNTIL_CLOSE;
  }

  /** Whether a response was asked for and is not complete. */
  boolean inResponse() {
    return state != State.IDLE;
  }

  /** Lets go of a partial head (the connection closed or is dropped). */
  void release() {
    if (cumulation != null) {
      cumulation.release();
      cumulation = null;
    }
  }

  /** Reads {@code in} (not released here) to {@code sink}. */
  void read(ByteBuf in, ByteBufAllocator alloc, Sink sink) throws Malformed {
    while (in.isReadable()) {
      switch (state) {
        case IDLE -> throw new Malformed("the backend sent bytes without a request");
        case HEAD -> {
          if (!readHead(in, alloc, sink)) {
            return;
          }
        }
        case LENGTH -> {
          int n = (int) Math.min(remaining, in.readableBytes());
          remaining -= n;
          sink.body(in.readRetainedSlice(n), n);
          if (remaining == 0) {
            end(in, sink);
          }
        }
        case UNTIL_CLOSE -> {
          int n = in.readableBytes();
          sink.body(in.readRetainedSlice(n), n);
        }
        default -> readChunked(in, sink);
      }
    }
  }

  /**
   * The response is complete. Bytes after it (a backend answering what was not asked) are
   * dropped, and make the connection unfit for another request. The state is idle before the sink
   * hears of it: the sink may hand the connection to the next exchange at once.
   */
  private void end(ByteBuf in, Sink sink) {
    state = State.IDLE;
    boolean clean = !in.isReadable();
    in.skipBytes(in.readableBytes());
    sink.end(reusable && clean);
  }

  /**
   * Takes a head from {@code in} when it is all there, cumulating a split one; true when {@code
   * in} is to be read on, false when all of it was taken.
   */
  private boolean readHead(ByteBuf in, ByteBufAllocator alloc, Sink sink) throws Malformed {
    if (cumulation != null) {
      cumulation.writeBytes(in);
      ByteBuf c = cumulation;
      int end = headEnd(c);
      if (end < 0) {
        checkHeadSize(c.readableBytes());
        return false;
      }
      cumulation = null;
      try {
        takeHead(c, end, sink);
        read(c, alloc, sink); // what came after the head in the same bytes
      } finally {
        c.release();
      }
      return false;
    }
    int end = headEnd(in);
    if (end < 0) {
      checkHeadSize(in.readableBytes());
      cumulation = alloc.heapBuffer(Math.max(1024, in.readableBytes() * 2));
      cumulation.writeBytes(in);
      return false;
    }
    takeHead(in, end, sink);
    return true;
  }

  private static void checkHeadSize(int size) throws Malformed {
    if (size > MAX_HEAD) {
      throw new Malformed("response head larger than " + MAX_HEAD + " bytes");
    }
  }

  /** Parses the head in {@code b} ending at {@code end}; passes a final one on and sets up its body. */
  private void takeHead(ByteBuf b, int end, Sink sink) throws Malformed {
    checkHeadSize(end - b.readerIndex());
    head.parse(b, b.readerIndex(), end);
    if (head.status < 200) {
      if (head.status == 101) {
        throw new Malformed("101 Switching Protocols to a request that did not ask to switch");
      }
      b.readerIndex(end); // an interim answer (100, 103) is not passed on; the final one follows
      return;
    }
    Framing framing = framing();
    head.framing = framing;
    reusable = head.keepAlive && framing != Framing.UNTIL_CLOSE && !(head.transferEncoding != null && head.contentLength >= 0);
    sink.head(head);
    b.readerIndex(end);
    switch (framing) {
      case NONE -> end(b, sink);
      case LENGTH -> {
        remaining = head.contentLength;
        state = State.LENGTH;
        if (remaining == 0) {
          end(b, sink);
        }
      }
      case CHUNKED -> {
        state = State.CHUNK_SIZE;
        remaining = 0;
        lineLength = 0;
        digits = false;
      }
      case UNTIL_CLOSE -> state = State.UNTIL_CLOSE;
    }
  }

  /** RFC 9112 §6.3, for a response to a request Tollgate sent. */
  private Framing framing() throws Malformed {
    int status = head.status;
    if (headRequest || status == 204 || status == 304) {
      return Framing.NONE;
    }
    if (head.transferEncoding != null) {
      if (!head.chunked) {
        throw new Malformed("transfer coding '" + head.transferEncoding + "' does not end in chunked");
      }
      return Framing.CHUNKED;
    }
    return head.contentLength >= 0 ? Framing.LENGTH : Framing.UNTIL_CLOSE;
  }

  /** The index just past the empty line that ends the head, or -1 when it has not all arrived. */
  private static int headEnd(ByteBuf b) {
    int i = b.readerIndex();
    int end = b.writerIndex();
    while (i < end) {
      int lf = b.indexOf(i, end, (byte) '\n');
      if (lf < 0) {
        return -1;
      }
      int lineLength = lf - i;
      if (lineLength == 0 || (lineLength == 1 && b.getByte(i) == '\r')) {
        return lf + 1;
      }
      i = lf + 1;
    }
    return -1;
  }

  /**
   * Walks a chunked body, passing on what it walked over; checks each chunk-size line (hex
   * digits, extensions, CRLF), each chunk's closing CRLF, and the trailer section's size.
   */
  private void readChunked(ByteBuf in, Sink sink) throws Malformed {
    int start = in.readerIndex();
    int i = start;
    int end = in.writerIndex();
    int payload = 0;
    boolean done = false;
    while (i < end && !done) {
      byte b = in.getByte(i);
      switch (state) {
        case CHUNK_SIZE -> {
          int d = Character.digit(b, 16);
          if (d >= 0) {
            if (remaining > (Long.MAX_VALUE >> 4)) {
              throw new Malformed("chunk size too large");
            }
            remaining = remaining << 4 | d;
            digits = true;
          } else if (!digits) {
            throw new Malformed("chunk size expected");
          } else if (b == ';' || b == ' ' || b == '\t') {
            state = State.CHUNK_EXT;
          } else if (b == '\r') {
            state = State.CHUNK_SIZE_LF;
          } else {
            throw new Malformed("bad chunk size line");
          }
          i++;
          chunkLine();
        }
        case CHUNK_EXT -> {
          if (b == '\r') {
            state = State.CHUNK_SIZE_LF;
          } else if (b == '\n' || (b < 0x20 && b != '\t') || b == 0x7f) {
            throw new Malformed("bad chunk extension");
          }
          i++;
          chunkLine();
        }
        case CHUNK_SIZE_LF -> {
          if (b != '\n') {
            throw new Malformed("chunk size line not ended by CRLF");
          }
          i++;
          lineLength = 0;
          digits = false;
          if (remaining == 0) {
            state = State.TRAILER;
            trailerBytes = 0;
            lineEmpty = true;
            sawCr = false;
          } else {
            state = State.CHUNK_DATA;
          }
        }
        case CHUNK_DATA -> {
          int n = (int) Math.min(remaining, end - i);
          i += n;
          payload += n;
          remaining -= n;
          if (remaining == 0) {
            state = State.CHUNK_DATA_CR;
          }
        }
        case CHUNK_DATA_CR -> {
          if (b != '\r') {
            throw new Malformed("chunk data not followed by CRLF");
          }
          i++;
          state = State.CHUNK_DATA_LF;
        }
        case CHUNK_DATA_LF -> {
          if (b != '\n') {
            throw new Malformed("chunk data not followed by CRLF");
          }
          i++;
          state = State.CHUNK_SIZE;
        }
        case TRAILER -> {
          // Trailer lines are passed on as they are (each ended by CRLF); an empty line ends the body.
          i++;
          if (++trailerBytes > MAX_TRAILERS) {
            throw new Malformed("trailer section larger than " + MAX_TRAILERS + " bytes");
          }
          if (b == '\n') {
            if (!sawCr) {
              throw new Malformed("trailer line not ended by CRLF");
            }
            if (lineEmpty) {
              done = true;
            }
            lineEmpty = true;
            sawCr = false;
          } else if (sawCr) {
            throw new Malformed("CR without LF in a trailer");
          } else if (b == '\r') {
            sawCr = true;
          } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
            throw new Malformed("control character in a trailer");
          } else {
            lineEmpty = false;
          }
        }
        default -> throw new IllegalStateException(state.name());
      }
    }
    in.readerIndex(i);
    if (i > start) {
      sink.body(in.retainedSlice(start, i - start), payload);
    }
    if (done) {
      end(in, sink);
    }
  }

  private void chunkLine() throws Malformed {
    if (++lineLength > MAX_CHUNK_LINE) {
      throw new Malformed("chunk size line longer than " + MAX_CHUNK_LINE + " bytes");
    }
  }
}
