package dev.tollgate.ingress.terminate;

import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.tunnel.impl.HopByHop;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
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

  private final TerminateHandler handler;
  private final HttpConnection connection;
  private final BackendConnections backends;
  private final AccessLog accessLog;
  private final TerminateHandler.Seen seen = new TerminateHandler.Seen();
  private ChannelHandlerContext ctx;
  private ChannelHandlerContext wire;
  private FastExchange exchange;
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

  /**
   * Where the exchanges write their responses, which are HTTP bytes already: below Vert.x's
   * encoder (which then never sees them), or here when there is none.
   */
  ChannelHandlerContext wire() {
    if (wire == null) {
      ChannelHandlerContext encoder = ctx.pipeline().context("httpEncoder");
      wire = encoder != null ? encoder : ctx;
    }
    return wire;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (handedOver) {
      ctx.fireChannelRead(msg);
    } else if (closing) {
      ReferenceCountUtil.release(msg);
    } else if (exchange != null && !exchange.requestEnded()) {
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
        exchange = new FastExchange(this, ctx, backends, handler, accessLog, request, plan, keepAlive);
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
      while (exchange != null && !exchange.requestEnded() && !queued.isEmpty()) {
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

  /** The exchange under way has ended; with {@code closing}, what the client still sends is dropped. */
  void exchangeEnded(boolean closing) {
    exchange = null;
    if (closing) {
      this.closing = true;
    }
  }

  /**
   * After an exchange's end (its last write is out): runs a close Vert.x asked for meanwhile, lets
   * the held messages go when the connection is closing, else takes the next pipelined request.
   */
  void afterExchange() {
    if (closing) {
      releaseQueued();
    }
    if (!closeIfAsked() && !closing) {
      next();
    }
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

}
