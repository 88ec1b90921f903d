package dev.tollgate.ingress.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The strict decoder on an embedded channel: inputs split at every position, as reads split them. */
class StrictHttp1DecoderTest {

  private static EmbeddedChannel channel() {
    return new EmbeddedChannel(new StrictHttp1Decoder(new HttpServerOptions(), 60_000, false));
  }

  /** Feeds {@code input} in two reads split at {@code at}; returns the raw response or null. */
  private static String feedSplit(EmbeddedChannel ch, String input, int at) {
    byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
    ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, at));
    if (ch.isActive()) {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, at, bytes.length - at));
    }
    ByteBuf out = ch.readOutbound();
    if (out == null) {
      return null;
    }
    try {
      return out.toString(StandardCharsets.ISO_8859_1);
    } finally {
      out.release();
    }
  }

  private static void releaseInbound(EmbeddedChannel ch) {
    Object o;
    while ((o = ch.readInbound()) != null) {
      ReferenceCountUtil.release(o);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n",
        "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n",
        "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n",
        "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: a\u0001b\r\n\r\n",
      })
  void refusedWhereverTheReadsSplit(String input) {
    for (int at = 1; at < input.length(); at++) {
      EmbeddedChannel ch = channel();
      String response = feedSplit(ch, input, at);
      assertNotNull(response, "split at " + at + ": no answer");
      assertTrue(response.startsWith("HTTP/1.1 400 "), "split at " + at + ": " + response);
      assertTrue(response.contains("Connection: close"));
      releaseInbound(ch);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void contentLengthWithTransferEncodingFailsTheDecodeWhereverTheReadsSplit() {
    // The decoder marks the request invalid; Vert.x answers such a request with 400 and closes.
    String input = "POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    for (int at = 1; at < input.length(); at++) {
      EmbeddedChannel ch = channel();
      feedSplit(ch, input, at);
      Object first = ch.readInbound();
      assertTrue(first instanceof HttpRequest r && r.decoderResult().isFailure(), "split at " + at + ": " + first);
      ReferenceCountUtil.release(first);
      releaseInbound(ch);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aCleanRequestPassesWhereverTheReadsSplit() {
    String input = "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
    for (int at = 1; at < input.length(); at++) {
      EmbeddedChannel ch = channel();
      assertNull(feedSplit(ch, input, at), "split at " + at);
      Object first = ch.readInbound();
      assertTrue(first instanceof HttpRequest, "split at " + at + ": " + first);
      ReferenceCountUtil.release(first);
      releaseInbound(ch);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void theSecondRequestOfAConnectionIsCheckedToo() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", StandardCharsets.US_ASCII));
    assertTrue(ch.readInbound() instanceof HttpRequest);
    assertTrue(ch.readInbound() instanceof LastHttpContent);
    String response = feedSplit(ch, "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", 24);
    assertNotNull(response);
    assertTrue(response.startsWith("HTTP/1.1 400 "), response);
    ch.finishAndReleaseAll();
  }

  @Test
  void bytesBehindAConnectHeadAreKeptForTheTunnel() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\u0016\u0003\u0001hello", StandardCharsets.ISO_8859_1));
    assertTrue(ch.readInbound() instanceof HttpRequest);
    assertTrue(ch.readInbound() instanceof LastHttpContent);
    assertNull(ch.readInbound(), "nothing behind the CONNECT head is parsed as HTTP");
    assertEquals("\u0016\u0003\u0001hello", ch.attr(StrictHttp1Decoder.EARLY_BYTES).get().toString(StandardCharsets.ISO_8859_1));
    assertFalse(ch.outboundMessages().size() > 0, "no error answer");
    ch.finishAndReleaseAll();
  }

  @Test
  void otherHttpVersionsAre505() {
    EmbeddedChannel ch = channel();
    String response = feedSplit(ch, "GET http://h/ HTTP/2.1\r\nHost: h\r\n\r\n", 5);
    assertNotNull(response);
    assertTrue(response.startsWith("HTTP/1.1 505 "), response);
    ch.finishAndReleaseAll();
  }
}
