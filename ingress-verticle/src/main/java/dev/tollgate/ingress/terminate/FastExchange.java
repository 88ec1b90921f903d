package dev.tollgate.ingress.terminate;

import dev.tollgate.common.ProxyFailure;
import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.HttpForwarder;
import dev.tollgate.tunnel.Target;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
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

  private final Http1FastPath connection;
  private final ChannelHandlerContext ctx;
  private final ClientResponseWriter out;
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
    this.out = new ClientResponseWriter(connection.wire());
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
  public void head(BackendResponseHead response) {
    if (done) {
      return;
    }
    responseStarted = true;
    status = response.status;
    if (!requestEnded || handler.draining()) {
      // A drain, or an answer before the request body ended: the rest of that body cannot be told from a next request.
      closeClient = true;
    }
    BackendResponseReader.Framing framing = response.framing;
    int room = framing == BackendResponseReader.Framing.LENGTH ? (int) Math.min(response.contentLength, ClientResponseWriter.GATHER_MAX) : 0;
    out.head(
        response.encode(ctx.alloc(), plan.via(response.http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0), plan.hsts(), closeClient, room),
        framing == BackendResponseReader.Framing.UNTIL_CLOSE);
  }

  @Override
  public void body(ByteBuf bytes, int payload) {
    if (done) {
      bytes.release();
      return;
    }
    bytesDown += payload;
    out.body(bytes, payload);
    if (!ctx.channel().isWritable()) {
      backend.channel.config().setAutoRead(false); // before the flush, as for uploads
      out.flush();
    }
  }

  @Override
  public void end(boolean reusable) {
    if (done) {
      return;
    }
    backend.awaitingBackend = false;
    backendReusable = reusable;
    finish();
  }

  @Override
  public void backendReadComplete(BackendConnections.Connection c) {
    if (c == backend && !done && out.pending()) {
      out.flush();
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

  /** Ends the exchange once the response is complete. */
  private void finish() {
    done = true;
    connection.exchangeEnded(closeClient);
    out.end(closeClient);
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
    abandon();
    if (failure == null || responseStarted) {
      plan.record().failure("upstream failed mid-response");
      out.cut();
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
    out.discard();
    plan.record().failure("the client left mid-response");
    accessLog.log(plan.record(), responseStarted ? status : 502, bytesUp, bytesDown);
    connection.afterExchange();
  }
}
