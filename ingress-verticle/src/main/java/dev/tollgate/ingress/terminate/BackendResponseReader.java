package dev.tollgate.ingress.terminate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

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
    void head(Head head);

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

  private final Head head = new Head();
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

  /**
   * A final response's head, split into lines in the bytes it was read from: what the client is
   * sent is written from those bytes, without the hop-by-hop fields.
   */
  static final class Head {
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP_1_0 = "HTTP/1.0 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] COLON = {':', ' '};

    private ByteBuf buf;
    int status;
    boolean http11;
    private int statusStart;
    private int reasonStart;
    private int reasonEnd;
    /** Per field: name start, name end, value start, value end; a dropped one has its name start at -1. */
    private int[] fields = new int[64];
    private int fieldCount;
    long contentLength;
    String transferEncoding;
    boolean chunked;
    boolean keepAlive;
    private boolean closeAsked;
    private List<String> connectionListed;
    Framing framing;

    /** Parses the head in {@code b} between {@code start} and {@code end} (just past its empty line). */
    void parse(ByteBuf b, int start, int end) throws Malformed {
      buf = b;
      fieldCount = 0;
      contentLength = -1;
      transferEncoding = null;
      chunked = false;
      closeAsked = false;
      boolean keepAliveAsked = false;
      connectionListed = null;
      int lf = b.indexOf(start, end, (byte) '\n');
      int lineEnd = lineEnd(b, start, lf);
      statusLine(b, start, lineEnd);
      int i = lf + 1;
      while (true) {
        lf = b.indexOf(i, end, (byte) '\n');
        lineEnd = lineEnd(b, i, lf);
        if (lineEnd == i) {
          break;
        }
        field(b, i, lineEnd);
        i = lf + 1;
      }
      // What the fields say about the connection and the framing.
      for (int f = 0; f < fieldCount; f++) {
        int n = f * 4;
        int nameStart = fields[n];
        int nameLength = fields[n + 1] - nameStart;
        if (is(b, nameStart, nameLength, "content-length")) {
          long length = contentLength(b, fields[n + 2], fields[n + 3]);
          if (contentLength >= 0 && contentLength != length) {
            throw new Malformed("conflicting Content-Length values");
          }
          contentLength = length;
        } else if (is(b, nameStart, nameLength, "transfer-encoding")) {
          String value = value(b, f);
          transferEncoding = transferEncoding == null ? value : transferEncoding + ", " + value;
          String last = transferEncoding.substring(transferEncoding.lastIndexOf(',') + 1).trim();
          chunked = last.equalsIgnoreCase("chunked");
        } else if (is(b, nameStart, nameLength, "connection")) {
          for (String token : value(b, f).split(",")) {
            String t = token.trim();
            if (t.equalsIgnoreCase("close")) {
              closeAsked = true;
            } else if (t.equalsIgnoreCase("keep-alive")) {
              keepAliveAsked = true;
            } else if (!t.isEmpty()) {
              if (connectionListed == null) {
                connectionListed = new ArrayList<>(2);
              }
              connectionListed.add(t);
            }
          }
        }
      }
      keepAlive = !closeAsked && (http11 || keepAliveAsked);
    }

    /** The end of the line ending at the LF {@code lf} (before a CR); a line must end in CRLF or LF. */
    private static int lineEnd(ByteBuf b, int start, int lf) {
      return lf > start && b.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    }

    private void statusLine(ByteBuf b, int start, int end) throws Malformed {
      if (end - start < 12) {
        throw new Malformed("bad status line");
      }
      if (same(b, start, HTTP_1_1)) {
        http11 = true;
      } else if (same(b, start, HTTP_1_0)) {
        http11 = false;
      } else {
        throw new Malformed("not an HTTP/1.x response");
      }
      int s = start + 9;
      int code = 0;
      for (int i = s; i < s + 3; i++) {
        byte d = b.getByte(i);
        if (d < '0' || d > '9') {
          throw new Malformed("bad status code");
        }
        code = code * 10 + (d - '0');
      }
      if (code < 100) {
        throw new Malformed("bad status code");
      }
      status = code;
      statusStart = s;
      reasonStart = s + 3;
      reasonEnd = end;
      if (reasonStart < end) {
        if (b.getByte(reasonStart) != ' ') {
          throw new Malformed("bad status line");
        }
        reasonStart++;
        for (int i = reasonStart; i < end; i++) {
          byte c = b.getByte(i);
          if ((c < 0x20 && c != '\t') || c == 0x7f) {
            throw new Malformed("control character in the reason phrase");
          }
        }
      }
    }

    private void field(ByteBuf b, int start, int end) throws Malformed {
      int colon = -1;
      for (int i = start; i < end; i++) {
        byte c = b.getByte(i);
        if (c == ':') {
          colon = i;
          break;
        }
        if (!tchar(c)) {
          throw new Malformed(i == start && (c == ' ' || c == '\t') ? "folded header line" : "bad header name");
        }
      }
      if (colon <= start) {
        throw new Malformed(colon < 0 ? "header line without a colon" : "empty header name");
      }
      int vs = colon + 1;
      int ve = end;
      while (vs < ve && (b.getByte(vs) == ' ' || b.getByte(vs) == '\t')) {
        vs++;
      }
      while (ve > vs && (b.getByte(ve - 1) == ' ' || b.getByte(ve - 1) == '\t')) {
        ve--;
      }
      for (int i = vs; i < ve; i++) {
        byte c = b.getByte(i);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          throw new Malformed("control character in a header value");
        }
      }
      if (fieldCount * 4 == fields.length) {
        fields = java.util.Arrays.copyOf(fields, fields.length * 2);
      }
      int n = fieldCount++ * 4;
      fields[n] = start;
      fields[n + 1] = colon;
      fields[n + 2] = vs;
      fields[n + 3] = ve;
    }

    private static long contentLength(ByteBuf b, int start, int end) throws Malformed {
      // "5" or the same value repeated in a list ("5, 5"), as RFC 9110 §8.6 allows.
      long value = -1;
      long current = -1;
      for (int i = start; i <= end; i++) {
        byte c = i < end ? b.getByte(i) : (byte) ',';
        if (c >= '0' && c <= '9') {
          if (current > (Long.MAX_VALUE - 9) / 10) {
            throw new Malformed("Content-Length too large");
          }
          current = (current < 0 ? 0 : current * 10) + (c - '0');
        } else if (c == ',') {
          if (current < 0 || (value >= 0 && value != current)) {
            throw new Malformed("bad Content-Length");
          }
          value = current;
          current = -1;
        } else if (c != ' ' && c != '\t') {
          throw new Malformed("bad Content-Length");
        }
      }
      return value;
    }

    private String value(ByteBuf b, int f) {
      return b.toString(fields[f * 4 + 2], fields[f * 4 + 3] - fields[f * 4 + 2], StandardCharsets.ISO_8859_1);
    }

    /**
     * Writes the head the client is sent: HTTP/1.1, the status line's code and reason, every field
     * but the hop-by-hop ones, those the {@code Connection} field names, a {@code Content-Length}
     * beside a {@code Transfer-Encoding}, and (when {@code hsts} is given) the backend's own
     * {@code Strict-Transport-Security}; then {@code Via}, HSTS, the framing, and {@code
     * Connection: close} when {@code close}.
     *
     * @param room bytes to leave free after the head (for a body to follow it in the same buffer)
     */
    ByteBuf encode(ByteBufAllocator alloc, String via, String hsts, boolean close, int room) {
      int size = fieldCount == 0 ? 0 : fields[fieldCount * 4 - 1] - fields[0];
      ByteBuf out = alloc.buffer(size + 256 + via.length() + (hsts == null ? 0 : hsts.length()) + room);
      out.writeBytes(HTTP_1_1);
      out.writeBytes(buf, statusStart, 3);
      out.writeByte(' ');
      if (reasonEnd > reasonStart) {
        out.writeBytes(buf, reasonStart, reasonEnd - reasonStart);
      }
      out.writeBytes(CRLF);
      for (int f = 0; f < fieldCount; f++) {
        int n = f * 4;
        if (!passed(buf, fields[n], fields[n + 1] - fields[n], hsts != null)) {
          continue;
        }
        out.writeBytes(buf, fields[n], fields[n + 1] - fields[n]);
        out.writeBytes(COLON);
        out.writeBytes(buf, fields[n + 2], fields[n + 3] - fields[n + 2]);
        out.writeBytes(CRLF);
      }
      header(out, TerminateHandler.VIA_HEADER, via);
      if (hsts != null) {
        header(out, TerminateHandler.HSTS_HEADER, hsts);
      }
      if (framing == Framing.CHUNKED) {
        header(out, "transfer-encoding", transferEncoding);
      } else if (framing == Framing.UNTIL_CLOSE) {
        header(out, "transfer-encoding", "chunked");
      }
      if (close) {
        header(out, "connection", "close");
      }
      out.writeBytes(CRLF);
      return out;
    }

    private static void header(ByteBuf out, String name, String value) {
      out.writeCharSequence(name, StandardCharsets.US_ASCII);
      out.writeBytes(COLON);
      out.writeCharSequence(value, StandardCharsets.ISO_8859_1);
      out.writeBytes(CRLF);
    }

    /** Whether the field named at {@code start} goes to the client. */
    private boolean passed(ByteBuf b, int start, int length, boolean hsts) {
      boolean dropped =
          switch (length) {
            case 2 -> is(b, start, length, "te");
            case 7 -> is(b, start, length, "trailer") || is(b, start, length, "upgrade");
            case 10 -> is(b, start, length, "connection") || is(b, start, length, "keep-alive");
            case 14 -> transferEncoding != null && is(b, start, length, "content-length");
            case 16 -> is(b, start, length, "proxy-connection");
            case 17 -> is(b, start, length, "transfer-encoding");
            case 18 -> is(b, start, length, "proxy-authenticate");
            case 19 -> is(b, start, length, "proxy-authorization");
            case 25 -> hsts && is(b, start, length, TerminateHandler.HSTS_HEADER);
            default -> false;
          };
      if (dropped) {
        return false;
      }
      if (connectionListed != null) {
        for (String listed : connectionListed) {
          if (is(b, start, length, listed)) {
            return false;
          }
        }
      }
      return true;
    }

    /** Whether the {@code length} bytes at {@code start} are {@code name}, ignoring ASCII case. */
    private static boolean is(ByteBuf b, int start, int length, String name) {
      if (length != name.length()) {
        return false;
      }
      for (int i = 0; i < length; i++) {
        int c = b.getByte(start + i) & 0xff;
        int d = name.charAt(i);
        if (c != d && lower(c) != lower(d)) {
          return false;
        }
      }
      return true;
    }

    private static int lower(int c) {
      return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    }

    private static boolean same(ByteBuf b, int start, byte[] bytes) {
      for (int i = 0; i < bytes.length; i++) {
        if (b.getByte(start + i) != bytes[i]) {
          return false;
        }
      }
      return true;
    }

    private static boolean tchar(byte c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
  }
}
