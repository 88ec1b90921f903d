package dev.tollgate.ingress.terminate;

import dev.tollgate.common.ProxyFailure;
import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.HttpForwarder;
import dev.tollgate.tunnel.Target;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * One request of an {@link Http1FastPath} connection carried to its backend, and the response
 * back: request body and response stream with backpressure both ways; the response, read as
 * bytes by the backend connection's {@link BackendResponseReader}, passed on with its head
 * rewritten for the client, written below Vert.x's encoder, and flushed as each backend read
 * ends; a stale kept backend connection retried once; failures answered (or the client
 * connection cut once a head is out). Confined to the connection's event loop.
 */
final class FastExchange implements BackendConnections.Exchange {
  /** Request bytes held while the backend connection opens before reading stops. */
  private static final int MAX_PENDING_BYTES = 64 * 1024;
  /**
   * Response bytes gathered behind the head into one write, at most: a small response goes out
   * as one write and one TLS record, rather than as head, body and end written one by one.
   */
  private static final int GATHER_MAX = 16 * 1024;

  private static final byte[] CRLF_BYTES = {'\r', '\n'};
  private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(Unpooled.directBuffer(2).writeBytes(CRLF_BYTES)).asReadOnly();
  private static final ByteBuf LAST_CHUNK =
      Unpooled.unreleasableBuffer(Unpooled.directBuffer(5).writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).asReadOnly();

  private final Http1FastPath connection;
  private final ChannelHandlerContext ctx;
  /** Where response bytes enter the client's pipeline: below Vert.x's HTTP encoder. */
  private final ChannelHandlerContext wire;
  private final BackendConnections backends;
  private final TerminateHandler handler;
  private final AccessLog accessLog;
  private final HttpRequest request;
  private final TerminateHandler.Plan plan;
  private final boolean retryable;
  private final boolean head;
  private Target target;
  private BackendConnections.Connection backend;
  private ArrayDeque<Object> pending;
  private int pendingBytes;
  private boolean requestEnded;
  private boolean responseStarted;
  private boolean closeClient;
  private boolean backendReusable;
  private boolean retried;
  private boolean unflushed;
  /** The response head not yet written, with what followed it while it fits {@link #GATHER_MAX}. */
  private ByteBuf gathered;
  private BackendResponseReader.Framing framing;
  private boolean done;
  private int status;
  private long bytesUp;
  private long bytesDown;

  /**
   * @param ctx the client connection's context at the fast path's place in its pipeline
   * @param keepAlive whether the client wants the connection kept after the response
   */
  FastExchange(
      Http1FastPath connection,
      ChannelHandlerContext ctx,
      BackendConnections backends,
      TerminateHandler handler,
      AccessLog accessLog,
      HttpRequest request,
      TerminateHandler.Plan plan,
      boolean keepAlive) {
    this.connection = connection;
    this.ctx = ctx;
    this.wire = connection.wire();
    this.backends = backends;
    this.handler = handler;
    this.accessLog = accessLog;
    this.request = request;
    this.plan = plan;
    this.head = request.method() == HttpMethod.HEAD;
    String length = request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
    this.retryable = HttpForwarder.RETRYABLE.contains(request.method().name()) && (length == null || length.equals("0"));
    this.closeClient = !keepAlive;
  }

  void begin() {
    pending = new ArrayDeque<>(2);
    pending.add(request);
    target = plan.target();
    if (target == null) {
      handler.backends.resolve(plan.backend()).onComplete(ar -> backends.loop().execute(() -> {
        if (done) {
          return;
        }
        if (ar.failed()) {
          fail(FailureResponder.toFailure(ar.cause()));
        } else {
          target = ar.result();
          connect();
        }
      }));
      return;
    }
    BackendConnections.Connection c = backends.reuse(target, this);
    if (c != null) {
      attach(c);
    } else {
      connect();
    }
  }

  private void connect() {
    backends.open(target, this, (c, error) -> {
      if (done) {
        if (c != null) {
          c.discard();
        }
      } else if (c == null) {
        fail(Dialer.connectFailure(target, error));
      } else {
        attach(c);
      }
    });
  }

  private void attach(BackendConnections.Connection c) {
    backend = c;
    c.expectResponse(head);
    Object m;
    while ((m = pending.poll()) != null) {
      c.channel.write(m);
    }
    pendingBytes = 0;
    c.channel.flush();
    if (requestEnded) {
      c.awaitResponse();
    }
    if (!requestEnded) {
      ctx.channel().config().setAutoRead(c.channel.isWritable());
    }
  }

  void fromClient(Object msg) {
    if (msg instanceof ByteBufHolder b) {
      bytesUp += b.content().readableBytes();
    }
    boolean last = msg instanceof LastHttpContent;
    if (last) {
      requestEnded = true;
    }
    if (backend == null) {
      pending.add(msg);
      if (msg instanceof ByteBufHolder b) {
        pendingBytes += b.content().readableBytes();
        if (pendingBytes > MAX_PENDING_BYTES) {
          ctx.channel().config().setAutoRead(false);
        }
      }
      return;
    }
    if (last) {
      backend.awaitResponse();
      backend.channel.writeAndFlush(msg);
    } else {
      backend.channel.write(msg);
      if (!backend.channel.isWritable()) {
        // Reading stops before the flush: a flush that drains at once turns the channel writable (and resumes reading) inside it.
        ctx.channel().config().setAutoRead(false);
        backend.channel.flush();
      }
    }
  }

  void flushUp() {
    if (backend != null && !requestEnded) {
      backend.channel.flush();
    }
  }

  /** Whether the client has sent the whole request. */
  boolean requestEnded() {
    return requestEnded;
  }

  /** Whether client reads are held for this exchange (a slow backend or a backend still connecting). */
  boolean holdsReads() {
    return !requestEnded && (backend == null ? pendingBytes > MAX_PENDING_BYTES : !backend.channel.isWritable());
  }

  @Override
  public void backendWritable(BackendConnections.Connection c) {
    if (c == backend && !requestEnded) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  void clientWritable() {
    if (backend != null) {
      backend.channel.config().setAutoRead(true);
    }
  }

  @Override
  public void responseHead(BackendConnections.Connection c, BackendResponseReader.Head response) {
    if (c != backend || done) {
      return;
    }
    responseStarted = true;
    status = response.status;
    framing = response.framing;
    if (!requestEnded || handler.draining()) {
      // A drain, or an answer before the request body ended: the rest of that body cannot be told from a next request.
      closeClient = true;
    }
    int room = framing == BackendResponseReader.Framing.LENGTH ? (int) Math.min(response.contentLength, GATHER_MAX) : 0;
    gathered = response.encode(ctx.alloc(), plan.via(response.http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0), plan.hsts(), closeClient, room);
  }

  @Override
  public void responseBody(BackendConnections.Connection c, ByteBuf bytes, int payload) {
    if (c != backend || done) {
      bytes.release();
      return;
    }
    bytesDown += payload;
    boolean chunk = framing == BackendResponseReader.Framing.UNTIL_CLOSE;
    if (gathered != null && gathered.readableBytes() + bytes.readableBytes() + (chunk ? 12 : 0) <= GATHER_MAX) {
      if (chunk) {
        chunkSize(gathered, payload);
      }
      gathered.writeBytes(bytes);
      bytes.release();
      if (chunk) {
        gathered.writeBytes(CRLF_BYTES);
      }
    } else if (chunk) {
      // A body that ends with the backend's connection goes to the kept client connection chunked.
      ByteBuf size = ctx.alloc().buffer(10);
      chunkSize(size, payload);
      write(size);
      write(bytes);
      write(CRLF.duplicate());
    } else {
      write(bytes);
    }
    if (!ctx.channel().isWritable()) {
      backend.channel.config().setAutoRead(false); // before the flush, as for uploads
      flushDown();
    }
  }

  @Override
  public void responseEnd(BackendConnections.Connection c, boolean reusable) {
    if (c != backend || done) {
      return;
    }
    backend.awaitingBackend = false;
    backendReusable = reusable;
    if (gathered != null && framing == BackendResponseReader.Framing.UNTIL_CLOSE) {
      gathered.writeBytes(LAST_CHUNK.duplicate());
      finish(Unpooled.EMPTY_BUFFER);
    } else {
      finish(framing == BackendResponseReader.Framing.UNTIL_CLOSE ? LAST_CHUNK.duplicate() : Unpooled.EMPTY_BUFFER);
    }
  }

  @Override
  public void backendReadComplete(BackendConnections.Connection c) {
    if (c == backend && !done && (unflushed || gathered != null)) {
      flushDown();
    }
  }

  @Override
  public void backendMalformed(BackendConnections.Connection c, String reason) {
    if (c != backend || done) {
      return;
    }
    backend = null; // closed by the connection
    fail(responseStarted ? null : ProxyFailure.upstream("upstream sent a malformed response: " + reason, null));
  }

  private static void chunkSize(ByteBuf out, int size) {
    out.writeCharSequence(Integer.toHexString(size), StandardCharsets.US_ASCII);
    out.writeBytes(CRLF_BYTES);
  }

  /** Writes response bytes to the client below Vert.x's encoder (they are HTTP already), after what was gathered. */
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

  private void flushDown() {
    writeGathered();
    unflushed = false;
    wire.flush();
  }

  /** Ends the exchange once the response is complete; {@code last}: the bytes that end its body, if any. */
  private void finish(ByteBuf last) {
    done = true;
    unflushed = false;
    connection.exchangeEnded(closeClient);
    ByteBuf out = last;
    if (gathered != null) {
      if (last.isReadable()) {
        gathered.writeBytes(last);
      }
      last.release();
      out = gathered;
      gathered = null;
    }
    if (closeClient) {
      wire.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    } else if (out.isReadable()) {
      wire.writeAndFlush(out, wire.voidPromise());
    } else {
      out.release();
      wire.flush();
    }
    BackendConnections.Connection c = backend;
    backend = null;
    if (backendReusable && requestEnded) {
      c.release();
    } else {
      c.discard();
    }
    accessLog.log(plan.record(), status, bytesUp, bytesDown);
    connection.afterExchange();
  }

  @Override
  public void backendClosed(BackendConnections.Connection c, Throwable cause) {
    if (c != backend || done) {
      return;
    }
    backend = null;
    if (!responseStarted && retryable && requestEnded && c.reused && !retried) {
      // A kept connection the backend had closed: an idempotent request without a body is sent once more, on a new one.
      retried = true;
      pending.add(request);
      pending.add(LastHttpContent.EMPTY_LAST_CONTENT);
      connect();
      return;
    }
    fail(responseStarted ? null : ProxyFailure.upstream("upstream failed: " + (cause == null ? "connection closed" : cause.getMessage()), cause));
  }

  @Override
  public void backendSilent(BackendConnections.Connection c) {
    if (c == backend && !done) {
      backend = null;
      c.discard();
      fail(ProxyFailure.timeout("upstream did not answer in time"));
    }
  }

  /**
   * Ends the exchange with a failure: answered with it while no response head is out, else the
   * client connection is closed (the only honest signal once a head was sent).
   */
  private void fail(ProxyFailure failure) {
    if (done) {
      return;
    }
    if (failure == null || responseStarted) {
      writeGathered(); // passed on before the failure: it goes out before the close
    }
    abandon();
    if (failure == null || responseStarted) {
      plan.record().failure("upstream failed mid-response");
      // What was passed on goes out first (a bare close would drop it), then the connection closes.
      wire.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    } else {
      status = failure.status();
      plan.record().failure(failure.reason());
      HttpResponse answer = FailureResponder.http1(failure);
      if (plan.hsts() != null) {
        answer.headers().set(TerminateHandler.HSTS_HEADER, plan.hsts());
      }
      ctx.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
    }
    accessLog.log(plan.record(), status, bytesUp, bytesDown);
    connection.afterExchange();
  }

  /** Ends the exchange without an answer: the backend connection and the request's held messages are let go. */
  private void abandon() {
    done = true;
    connection.exchangeEnded(true);
    if (gathered != null) {
      gathered.release();
      gathered = null;
    }
    if (backend != null) {
      backend.discard();
      backend = null;
    }
    Object m;
    while (pending != null && (m = pending.poll()) != null) {
      ReferenceCountUtil.release(m); // the request head is not reference-counted: a no-op for it
    }
  }

  /** The client connection closed or broke mid-exchange. */
  void clientLeft() {
    if (done) {
      return;
    }
    abandon();
    plan.record().failure("the client left mid-response");
    accessLog.log(plan.record(), responseStarted ? status : 502, bytesUp, bytesDown);
    connection.afterExchange();
  }
}
