package dev.tollgate.ingress.terminate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A final response's head, split into lines in the bytes it was read from: what the client is
 * sent is written from those bytes, without the hop-by-hop fields.
 */
final class BackendResponseHead {
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
  /** Per field: name start, name end (its colon), value start, value end, in {@link #buf}. */
  private int[] fields = new int[64];
  private int fieldCount;
  long contentLength;
  String transferEncoding;
  boolean chunked;
  boolean keepAlive;
  private boolean closeAsked;
  private List<String> connectionListed;
  BackendResponseReader.Framing framing;

  /** Parses the head in {@code b} between {@code start} and {@code end} (just past its empty line). */
  void parse(ByteBuf b, int start, int end) throws BackendResponseReader.Malformed {
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
          throw new BackendResponseReader.Malformed("conflicting Content-Length values");
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

  private void statusLine(ByteBuf b, int start, int end) throws BackendResponseReader.Malformed {
    if (end - start < 12) {
      throw new BackendResponseReader.Malformed("bad status line");
    }
    if (same(b, start, HTTP_1_1)) {
      http11 = true;
    } else if (same(b, start, HTTP_1_0)) {
      http11 = false;
    } else {
      throw new BackendResponseReader.Malformed("not an HTTP/1.x response");
    }
    int s = start + 9;
    int code = 0;
    for (int i = s; i < s + 3; i++) {
      byte d = b.getByte(i);
      if (d < '0' || d > '9') {
        throw new BackendResponseReader.Malformed("bad status code");
      }
      code = code * 10 + (d - '0');
    }
    if (code < 100) {
      throw new BackendResponseReader.Malformed("bad status code");
    }
    status = code;
    statusStart = s;
    reasonStart = s + 3;
    reasonEnd = end;
    if (reasonStart < end) {
      if (b.getByte(reasonStart) != ' ') {
        throw new BackendResponseReader.Malformed("bad status line");
      }
      reasonStart++;
      for (int i = reasonStart; i < end; i++) {
        byte c = b.getByte(i);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          throw new BackendResponseReader.Malformed("control character in the reason phrase");
        }
      }
    }
  }

  private void field(ByteBuf b, int start, int end) throws BackendResponseReader.Malformed {
    int colon = -1;
    for (int i = start; i < end; i++) {
      byte c = b.getByte(i);
      if (c == ':') {
        colon = i;
        break;
      }
      if (!tchar(c)) {
        throw new BackendResponseReader.Malformed(i == start && (c == ' ' || c == '\t') ? "folded header line" : "bad header name");
      }
    }
    if (colon <= start) {
      throw new BackendResponseReader.Malformed(colon < 0 ? "header line without a colon" : "empty header name");
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
        throw new BackendResponseReader.Malformed("control character in a header value");
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

  private static long contentLength(ByteBuf b, int start, int end) throws BackendResponseReader.Malformed {
    // "5" or the same value repeated in a list ("5, 5"), as RFC 9110 §8.6 allows.
    long value = -1;
    long current = -1;
    for (int i = start; i <= end; i++) {
      byte c = i < end ? b.getByte(i) : (byte) ',';
      if (c >= '0' && c <= '9') {
        if (current > (Long.MAX_VALUE - 9) / 10) {
          throw new BackendResponseReader.Malformed("Content-Length too large");
        }
        current = (current < 0 ? 0 : current * 10) + (c - '0');
      } else if (c == ',') {
        if (current < 0 || (value >= 0 && value != current)) {
          throw new BackendResponseReader.Malformed("bad Content-Length");
        }
        value = current;
        current = -1;
      } else if (c != ' ' && c != '\t') {
        throw new BackendResponseReader.Malformed("bad Content-Length");
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
    if (framing == BackendResponseReader.Framing.CHUNKED) {
      header(out, "transfer-encoding", transferEncoding);
    } else if (framing == BackendResponseReader.Framing.UNTIL_CLOSE) {
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
