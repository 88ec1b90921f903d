package dev.tollgate.ingress.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AttributeKey;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Vert.x's HTTP/1 request decoder, made strict for a proxy that sits in front of other parsers:
 * it refuses request smuggling vectors (Content-Length with Transfer-Encoding, obs-fold, bare CR,
 * NUL and other control characters in the head) with a 400, versions other than HTTP/1.x with a 505, answers 408 when a head is not finished within the header timeout,
 * and stops decoding after a CONNECT so that bytes the client sends right behind the CONNECT head
 * are kept for the tunnel instead of being parsed as a request.
 */
public final class StrictHttp1Decoder extends VertxHttpRequestDecoder {
  /** Bytes that arrived behind a CONNECT head, waiting for the tunnel (a heap copy). */
  public static final AttributeKey<Buffer> EARLY_BYTES = AttributeKey.valueOf("tollgate.earlyBytes");

  private static final int MAX_EARLY_BYTES = 64 * 1024;

  private final long headerTimeoutMillis;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> headerTimer;
  private boolean inHead = true;
  private boolean lineStart = true;
  private boolean firstLine = true;
  private boolean pendingCr;
  private boolean tunnel;
  private boolean rejected;
  private final boolean detectH2c;
  private boolean firstBytes = true;
  private boolean handedOff;
  /**
   * How many bytes from the reader index were already scanned. Counted from the reader index,
   * not as a buffer position: the cumulation is compacted between reads, which moves positions.
   */
  private int scannedReadable;
  private boolean fullyScanned;

  /**
   * @param headerTimeoutMillis a request head must be complete within this (408 after it)
   * @param detectH2c hand connections that open with the HTTP/2 preface to Vert.x's h2 codec
   */
  public StrictHttp1Decoder(HttpServerOptions options, long headerTimeoutMillis, boolean detectH2c) {
    super(options);
    this.headerTimeoutMillis = headerTimeoutMillis;
    this.detectH2c = detectH2c;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    super.handlerAdded(ctx);
    this.ctx = ctx;
    armHeaderTimer();
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
    cancelHeaderTimer();
    super.handlerRemoved0(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelHeaderTimer();
    super.channelInactive(ctx);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (handedOff) {
      return; // the held bytes flow to the h2 codec when this decoder is removed
    }
    if (rejected) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (tunnel) {
      keepEarlyBytes(ctx, in);
      return;
    }
    if (firstBytes && detectH2c) {
      int preface = H2cHandoff.matchPreface(in);
      if (preface == 0) {
        return; // wait for enough bytes to tell
      }
      firstBytes = false;
      if (preface == 1) {
        cancelHeaderTimer();
        handedOff = true;
        H2cHandoff.switchToHttp2(ctx.pipeline());
        ctx.pipeline().remove(this);
        return;
      }
    }
    if (inHead) {
      String bad = scanHead(in);
      if (bad != null) {
        reject(ctx, 400, "Bad Request", bad);
        in.skipBytes(in.readableBytes());
        return;
      }
    }
    int before = out.size();
    boolean wasInHead = inHead;
    super.decode(ctx, in, out);
    // Every readable byte left over was scanned, unless a new head started in this call.
    scannedReadable = wasInHead && fullyScanned ? in.readableBytes() : 0;
    for (int i = before; i < out.size(); i++) {
      Object o = out.get(i);
      if (o instanceof HttpRequest request) {
        inHead = false;
        cancelHeaderTimer();
        if (request.decoderResult().isSuccess() && request.protocolVersion().majorVersion() != 1) {
          out.subList(i, out.size()).clear();
          reject(ctx, 505, "HTTP Version Not Supported", "unsupported HTTP version");
          in.skipBytes(in.readableBytes());
          return;
        }
        if (request.method() == HttpMethod.CONNECT && request.decoderResult().isSuccess()) {
          tunnel = true;
          if (ctx.pipeline().get("httpEncoder") != null && ctx.pipeline().get(ConnectEstablished.NAME) == null) {
            ctx.pipeline().addAfter("httpEncoder", ConnectEstablished.NAME, new ConnectEstablished());
          }
        }
      }
      if (o instanceof LastHttpContent && !tunnel) {
        startHead();
      }
    }
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    throw new IllegalArgumentException("Content-Length and Transfer-Encoding together");
  }

  private void startHead() {
    inHead = true;
    lineStart = true;
    firstLine = true;
    pendingCr = false;
    scannedReadable = 0;
    fullyScanned = false;
  }

  /**
   * Scans the readable head bytes (from the reader index up to the empty line) for obs-fold, NUL
   * and bare CR. Netty consumes head lines as it parses them and the rest stays readable, so
   * remembering how much of the readable part was scanned means each byte is scanned once.
   */
  private String scanHead(ByteBuf in) {
    int end = in.writerIndex();
    fullyScanned = false;
    for (int i = in.readerIndex() + Math.min(scannedReadable, in.readableBytes()); i < end; i++) {
      byte b = in.getByte(i);
      if (pendingCr) {
        pendingCr = false;
        if (b != '\n') {
          return "bare CR in request head";
        }
        if (lineStart && !firstLine) {
          return null; // CRLF on an empty line: the head is complete
        }
        lineStart = true;
        firstLine = false;
        continue;
      }
      switch (b) {
        case 0 -> {
          return "NUL byte in request head";
        }
        case '\r' -> pendingCr = true;
        case '\n' -> {
          if (lineStart && !firstLine) {
            return null;
          }
          lineStart = true;
          firstLine = false;
        }
        case ' ', '\t' -> {
          if (lineStart && !firstLine) {
            return "obs-fold (a folded header line) is not accepted";
          }
          lineStart = false;
        }
        default -> {
          if ((b >= 0 && b < 0x20) || b == 0x7f) {
            return "control character in request head";
          }
          lineStart = false;
        }
      }
    }
    fullyScanned = true;
    return null;
  }

  private void keepEarlyBytes(ChannelHandlerContext ctx, ByteBuf in) {
    int n = in.readableBytes();
    if (n == 0) {
      return;
    }
    Buffer held = ctx.channel().attr(EARLY_BYTES).get();
    int already = held == null ? 0 : held.length();
    if (already + n > MAX_EARLY_BYTES) {
      rejected = true;
      in.skipBytes(n);
      ctx.close();
      return;
    }
    byte[] bytes = new byte[n];
    in.readBytes(bytes);
    if (held == null) {
      ctx.channel().attr(EARLY_BYTES).set(Buffer.buffer(bytes));
    } else {
      held.appendBytes(bytes);
    }
  }

  private void armHeaderTimer() {
    cancelHeaderTimer();
    headerTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (inHead && !tunnel && !rejected) {
                    reject(ctx, 408, "Request Timeout", "request head not received in time");
                  }
                },
                headerTimeoutMillis,
                TimeUnit.MILLISECONDS);
  }

  private void cancelHeaderTimer() {
    if (headerTimer != null) {
      headerTimer.cancel(false);
      headerTimer = null;
    }
  }

  /** Writes a raw response below the HTTP codec (TLS still applies) and closes the connection. */
  private void reject(ChannelHandlerContext ctx, int status, String phrase, String reason) {
    rejected = true;
    cancelHeaderTimer();
    String body = reason + "\n";
    String head =
        "HTTP/1.1 " + status + " " + phrase + "\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n"
            + "X-Tollgate-Reason: " + reason + "\r\n"
            + "Connection: close\r\n"
            + "Content-Length: " + body.length() + "\r\n\r\n";
    ctx.writeAndFlush(Unpooled.copiedBuffer(head + body, StandardCharsets.US_ASCII))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
