package dev.tollgate.ingress.terminate;

import dev.tollgate.common.ProxyFailure;
import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.Target;
import dev.tollgate.tunnel.impl.HopByHop;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpConnection;
import java.util.ArrayDeque;

/**
 * The HTTP/1.1 fast path of a terminating listener: kept-alive requests to plain backends are
 * carried at the level of Netty's pipeline, below Vert.x's HTTP objects, on the client
 * connection's event loop. It sits in front of Vert.x's own handler in the pipeline of each HTTP/1
 * connection and takes the requests it can carry whole: HTTP/1.1, no upgrade, no
 * {@code Expect}, no chunked request body, a plain backend, and every check of
 * {@link TerminateHandler} passed. Anything else (a refusal, an https backend, a WebSocket, a
 * drain) is handed to Vert.x's handler, with the rest of the connection: the Vert.x path then
 * answers exactly as it does without this one.
 *
 * <p>One exchange at a time per connection: pipelined requests wait in order, and reading stops
 * when more than a few wait. Bodies stream both ways with backpressure: a side that cannot write
 * stops the other side's reads. Confined to the connection's event loop.
 */
final class Http1FastPath extends ChannelDuplexHandler {
  static final String NAME = "tollgateFastPath";
  /** Pipelined messages held before reading stops. */
  private static final int MAX_QUEUED = 16;
  /** Request bytes held while the backend connection opens before reading stops. */
  private static final int MAX_PENDING_BYTES = 64 * 1024;

  private final TerminateHandler handler;
  private final HttpConnection connection;
  private final BackendConnections backends;
  private final AccessLog accessLog;
  private final TerminateHandler.Seen seen = new TerminateHandler.Seen();
  private ChannelHandlerContext ctx;
  private Exchange exchange;
  private ArrayDeque<Object> queued;
  private ChannelPromise deferredClose;
  private boolean handedOver;
  /** The connection closes once the last answer is out: what the client still sends is dropped. */
  private boolean closing;

  Http1FastPath(TerminateHandler handler, HttpConnection connection, BackendConnections backends, AccessLog accessLog) {
    this.handler = handler;
    this.connection = connection;
    this.backends = backends;
    this.accessLog = accessLog;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (handedOver) {
      ctx.fireChannelRead(msg);
    } else if (closing) {
      ReferenceCountUtil.release(msg);
    } else if (exchange != null && !exchange.requestEnded) {
      exchange.fromClient(msg);
    } else if (exchange != null || (queued != null && !queued.isEmpty())) {
      queue(msg);
    } else {
      dispatch(msg);
    }
  }

  private void queue(Object msg) {
    if (queued == null) {
      queued = new ArrayDeque<>();
    }
    queued.add(msg);
    if (queued.size() > MAX_QUEUED) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  private void dispatch(Object msg) {
    if (msg instanceof HttpRequest request && carriable(request)) {
      boolean keepAlive = HttpUtil.isKeepAlive(request); // before the plan drops Connection
      TerminateHandler.Plan plan = handler.fastPlan(request, connection, seen);
      if (plan != null) {
        exchange = new Exchange(request, plan, keepAlive);
        backends.counted();
        exchange.begin();
        return;
      }
    }
    handOver(msg);
  }

  /** What the fast path never carries, before any check: those go to Vert.x's handler. */
  private boolean carriable(HttpRequest request) {
    if (!request.decoderResult().isSuccess() || request.protocolVersion() != HttpVersion.HTTP_1_1 || handler.draining()) {
      return false;
    }
    MultiMap headers = (MultiMap) request.headers();
    return !headers.contains(HttpHeaderNames.EXPECT) && !headers.contains(HttpHeaderNames.TRANSFER_ENCODING) && !HopByHop.isUpgrade(headers);
  }

  /** From {@code msg} on, the connection is Vert.x's: this handler leaves the pipeline. */
  private void handOver(Object msg) {
    handedOver = true;
    ctx.channel().config().setAutoRead(true); // before Vert.x sees the request: it pauses and resumes reading itself from here
    ctx.fireChannelRead(msg);
    if (queued != null) {
      Object m;
      while ((m = queued.poll()) != null) {
        ctx.fireChannelRead(m);
      }
    }
    ctx.pipeline().remove(this);
  }

  /** Takes the next pipelined request, if one waits. */
  private void next() {
    while (exchange == null && !handedOver && queued != null && !queued.isEmpty()) {
      dispatch(queued.poll());
      while (exchange != null && !exchange.requestEnded && !queued.isEmpty()) {
        exchange.fromClient(queued.poll());
      }
    }
    if (!handedOver && ctx.channel().isActive() && (queued == null || queued.size() <= MAX_QUEUED) && (exchange == null || !exchange.holdsReads())) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** Body bytes read in one go reach the backend together: one flush per read, not per message. */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.flushUp();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (exchange != null && ctx.channel().isWritable()) {
      exchange.clientWritable();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (exchange != null) {
      exchange.clientLeft();
    }
    releaseQueued();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (exchange != null) {
      exchange.clientLeft();
    }
    ctx.fireExceptionCaught(cause);
  }

  /**
   * Vert.x's connection thinks it is idle while this path carries an exchange (a drain's shutdown
   * closes idle connections at once): a close asked for then waits for the exchange to end.
   */
  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    if (exchange != null && ctx.channel().isActive()) {
      deferredClose = promise;
      return;
    }
    ctx.close(promise);
  }

  /** Runs a close Vert.x asked for while the exchange was under way; true when there was one. */
  private boolean closeIfAsked() {
    if (deferredClose == null) {
      return false;
    }
    ChannelPromise p = deferredClose;
    deferredClose = null;
    ctx.close(p);
    return true;
  }

  private void releaseQueued() {
    if (queued != null) {
      queued.forEach(ReferenceCountUtil::release);
      queued.clear();
    }
  }

  /** One request carried to its backend and its response back. */
  private final class Exchange implements BackendConnections.Exchange {
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
    private boolean skipLast;
    private boolean done;
    private int status;
    private long bytesUp;
    private long bytesDown;

    Exchange(HttpRequest request, TerminateHandler.Plan plan, boolean keepAlive) {
      this.request = request;
      this.plan = plan;
      this.head = request.method() == HttpMethod.HEAD;
      String length = request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
      this.retryable = TerminateHandler.RETRYABLE.contains(request.method().name()) && (length == null || length.equals("0"));
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
    public void fromBackend(BackendConnections.Connection c, Object msg) {
      if (c != backend || done) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof HttpResponse response) {
        int code = response.status().code();
        if (code < 200) {
          // 1xx: an interim answer (100, 103) is not passed on; Netty follows it with an empty last content.
          skipLast = true;
          ReferenceCountUtil.release(msg);
          return;
        }
        respond(response);
      } else if (msg instanceof HttpContent content) {
        if (skipLast) {
          skipLast = !(msg instanceof LastHttpContent);
          content.release();
          return;
        }
        bytesDown += content.content().readableBytes();
        if (msg instanceof LastHttpContent) {
          backend.awaitingBackend = false;
          finish(content);
        } else {
          ctx.write(content, ctx.voidPromise());
          if (!ctx.channel().isWritable()) {
            backend.channel.config().setAutoRead(false); // before the flush, as for uploads
            ctx.flush();
          }
        }
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    private void respond(HttpResponse response) {
      responseStarted = true;
      status = response.status().code();
      MultiMap headers = (MultiMap) response.headers();
      backendReusable = HttpUtil.isKeepAlive(response);
      HopByHop.strip(headers);
      headers.add(TerminateHandler.VIA_HEADER, plan.via(response.protocolVersion()));
      if (plan.hsts() != null) {
        headers.set(TerminateHandler.HSTS_HEADER, plan.hsts());
      }
      if (!head && status != 204 && status != 304 && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
        headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
      if (!requestEnded || handler.draining()) {
        // A drain, or an answer before the request body ended: the rest of that body cannot be told from a next request.
        closeClient = true;
      }
      if (closeClient) {
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      response.setProtocolVersion(HttpVersion.HTTP_1_1);
      ctx.write(response, ctx.voidPromise());
    }

    private void finish(HttpContent last) {
      done = true;
      exchange = null;
      if (closeClient) {
        closing = true;
        ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.writeAndFlush(last, ctx.voidPromise());
      }
      BackendConnections.Connection c = backend;
      backend = null;
      if (backendReusable && requestEnded) {
        c.release();
      } else {
        c.discard();
      }
      accessLog.log(plan.record(), status, bytesUp, bytesDown);
      afterExchange();
    }

    private void afterExchange() {
      if (closeIfAsked()) {
        return;
      }
      if (closeClient) {
        releaseQueued();
        return;
      }
      next();
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
      closing = true;
      if (failure == null || responseStarted) {
        plan.record().failure("upstream failed mid-response");
        ctx.close();
      } else {
        status = failure.status();
        plan.record().failure(failure.reason());
        HttpResponse answer = FailureResponder.http1(failure);
        if (plan.hsts() != null) {
          answer.headers().set(TerminateHandler.HSTS_HEADER, plan.hsts());
        }
        ctx.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
      }
      releaseQueued();
      accessLog.log(plan.record(), status, bytesUp, bytesDown);
      closeIfAsked();
    }

    /** Ends the exchange without an answer: the backend connection and the request's held messages are let go. */
    private void abandon() {
      done = true;
      exchange = null;
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
      closeIfAsked();
    }
  }
}
