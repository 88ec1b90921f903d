package dev.tollgate.ingress.terminate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The backend response reader on byte sequences a backend may send: every response is also fed
 * one byte at a time and split at every point, and must read the same.
 */
class BackendResponseReaderTest {
  private static final String VIA = "1.1 n1 (tollgate)";
  private static final String HSTS = "max-age=60";

  /** What a reader passed on for one response: the client's head, the body bytes, and the end. */
  private static final class Seen implements BackendResponseReader.Sink {
    final List<String> heads = new ArrayList<>();
    final StringBuilder body = new StringBuilder();
    int payload;
    int ends;
    boolean reusable;
    boolean close;
    BackendResponseReader.Framing framing;

    @Override
    public void head(BackendResponseHead head) {
      framing = head.framing;
      ByteBuf out = head.encode(PooledByteBufAllocator.DEFAULT, VIA, HSTS, close, 0);
      heads.add(out.toString(StandardCharsets.ISO_8859_1));
      out.release();
    }

    @Override
    public void body(ByteBuf bytes, int n) {
      body.append(bytes.toString(StandardCharsets.ISO_8859_1));
      payload += n;
      bytes.release();
    }

    @Override
    public void end(boolean reusable) {
      ends++;
      this.reusable = reusable;
    }
  }

  private static Seen read(String response, boolean headRequest, int... splits) throws BackendResponseReader.Malformed {
    BackendResponseReader reader = new BackendResponseReader();
    reader.expect(headRequest);
    Seen seen = new Seen();
    byte[] bytes = response.getBytes(StandardCharsets.ISO_8859_1);
    int from = 0;
    try {
      for (int to : splits) {
        feed(reader, seen, bytes, from, to);
        from = Math.max(from, Math.min(to, bytes.length));
      }
      feed(reader, seen, bytes, from, bytes.length);
    } finally {
      reader.release();
    }
    return seen;
  }

  private static void feed(BackendResponseReader reader, Seen seen, byte[] bytes, int from, int to) throws BackendResponseReader.Malformed {
    to = Math.min(to, bytes.length);
    if (to <= from) {
      return;
    }
    ByteBuf in = PooledByteBufAllocator.DEFAULT.directBuffer(to - from).writeBytes(bytes, from, to - from);
    try {
      reader.read(in, PooledByteBufAllocator.DEFAULT, seen);
    } finally {
      assertTrue(in.release(), "the reader keeps no reference to its input");
    }
  }

  /** Reads {@code response} whole, a byte at a time, and split at each point: all must agree. */
  private static Seen readEveryWay(String response, boolean headRequest) throws BackendResponseReader.Malformed {
    Seen whole = read(response, headRequest);
    int[] bytewise = new int[response.length()];
    for (int i = 0; i < bytewise.length; i++) {
      bytewise[i] = i;
    }
    List<Seen> others = new ArrayList<>();
    others.add(read(response, headRequest, bytewise));
    for (int i = 1; i < response.length(); i++) {
      others.add(read(response, headRequest, i));
    }
    for (Seen s : others) {
      assertEquals(whole.heads, s.heads);
      assertEquals(whole.body.toString(), s.body.toString());
      assertEquals(whole.payload, s.payload);
      assertEquals(whole.ends, s.ends);
      assertEquals(whole.reusable, s.reusable);
    }
    return whole;
  }

  @Test
  void aFixedLengthResponseLosesItsHopByHopFieldsAndGainsViaAndHsts() throws Exception {
    Seen s =
        readEveryWay(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\n"
                + "X-Private: secret\r\nStrict-Transport-Security: max-age=1\r\nTE: trailers\r\nProxy-Authenticate: Basic\r\n"
                + "X-Kept:  padded value \t\r\nContent-Length: 5\r\n\r\nhello",
            false);
    assertEquals(
        List.of("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Kept: padded value\r\nContent-Length: 5\r\n"
            + "via: " + VIA + "\r\nstrict-transport-security: " + HSTS + "\r\n\r\n"),
        s.heads);
    assertEquals("hello", s.body.toString());
    assertEquals(5, s.payload);
    assertEquals(1, s.ends);
    assertTrue(s.reusable);
  }

  @Test
  void aChunkedBodyKeepsItsFramingAndTrailers() throws Exception {
    String body = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: 42\r\n\r\n";
    Seen s = readEveryWay("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n" + body, false);
    assertEquals(List.of("HTTP/1.1 200 OK\r\nvia: " + VIA + "\r\nstrict-transport-security: " + HSTS + "\r\ntransfer-encoding: chunked\r\n\r\n"), s.heads);
    assertEquals(body, s.body.toString());
    assertEquals(31, s.payload);
    assertEquals(BackendResponseReader.Framing.CHUNKED, s.framing);
    assertFalse(s.reusable, "Content-Length beside Transfer-Encoding: the connection is not used again");
  }

  @Test
  void aBodyUntilCloseIsPassedOnWithoutAnEnd() throws Exception {
    Seen s = readEveryWay("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nsome bytes", false);
    assertEquals(List.of("HTTP/1.1 200 OK\r\nServer: old\r\nvia: " + VIA + "\r\nstrict-transport-security: " + HSTS + "\r\ntransfer-encoding: chunked\r\n\r\n"), s.heads);
    assertEquals("some bytes", s.body.toString());
    assertEquals(0, s.ends, "the close ends it");
    assertEquals(BackendResponseReader.Framing.UNTIL_CLOSE, s.framing);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          HTTP/1.1 204 No Content\\r\\nX-A: 1\\r\\n\\r\\n                         | false
          HTTP/1.1 304 Not Modified\\r\\nContent-Length: 10\\r\\n\\r\\n          | false
          HTTP/1.1 200 OK\\r\\nContent-Length: 10\\r\\n\\r\\n                    | true
          HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n                     | false
          """)
  void responsesWithoutABodyEndAtTheirHead(String response, boolean headRequest) throws Exception {
    Seen s = readEveryWay(response.replace("\\r\\n", "\r\n"), headRequest);
    assertEquals(1, s.heads.size());
    assertEquals("", s.body.toString());
    assertEquals(1, s.ends);
    assertTrue(s.reusable);
  }

  @Test
  void interimResponsesAreSkipped() throws Exception {
    Seen s = readEveryWay("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false);
    assertEquals(1, s.heads.size());
    assertTrue(s.heads.get(0).startsWith("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"), s.heads.get(0));
    assertEquals("ok", s.body.toString());
  }

  @Test
  void aStatusLineWithoutReasonAndAnHttp10KeepAliveAreRead() throws Exception {
    Seen s = readEveryWay("HTTP/1.0 404\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", false);
    assertEquals(List.of("HTTP/1.1 404 \r\nContent-Length: 1\r\nvia: " + VIA + "\r\nstrict-transport-security: " + HSTS + "\r\n\r\n"), s.heads);
    assertTrue(s.reusable);
    Seen closing = readEveryWay("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false);
    assertFalse(closing.reusable);
  }

  @Test
  void bytesAfterTheResponseMakeTheConnectionUnusable() throws Exception {
    Seen s = read("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", false);
    assertEquals("x", s.body.toString());
    assertEquals(1, s.ends);
    assertFalse(s.reusable);
  }

  @Test
  void theClientHeadSaysCloseWhenAsked() throws Exception {
    BackendResponseReader reader = new BackendResponseReader();
    reader.expect(false);
    Seen s = new Seen();
    s.close = true;
    ByteBuf in = Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", StandardCharsets.US_ASCII);
    reader.read(in, PooledByteBufAllocator.DEFAULT, s);
    in.release();
    assertTrue(s.heads.get(0).endsWith("connection: close\r\n\r\n"), s.heads.get(0));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 200 OK\r\n Folded: value\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nSpace Before : colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Bad: a\u0000b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
      })
  void malformedResponsesAreRefused(String response) {
    assertThrows(BackendResponseReader.Malformed.class, () -> read(response, false));
    assertThrows(BackendResponseReader.Malformed.class, () -> read(response, false, 1, 2, 3, 5, 8, 13, 21, 34));
  }

  @Test
  void anOversizedHeadIsRefusedBeforeItEnds() {
    String big = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(BackendResponseReader.MAX_HEAD) + "\r\n";
    assertThrows(BackendResponseReader.Malformed.class, () -> read(big, false, 1000, 40_000));
  }

  @Test
  void bytesBeforeARequestAreRefused() {
    BackendResponseReader reader = new BackendResponseReader();
    ByteBuf in = Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n\r\n", StandardCharsets.US_ASCII);
    try {
      assertThrows(BackendResponseReader.Malformed.class, () -> reader.read(in, PooledByteBufAllocator.DEFAULT, new Seen()));
    } finally {
      in.release();
    }
  }
}
