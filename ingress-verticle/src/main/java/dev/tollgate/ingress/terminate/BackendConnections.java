package dev.tollgate.ingress.terminate;

import dev.tollgate.tunnel.Target;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Kept-alive plain HTTP/1.1 connections to backends for the {@link Http1FastPath}, on one event
 * loop: the backend connection of an exchange lives on the client connection's loop, so the data
 * path never changes threads. Idle connections are kept per backend address for the keep-alive
 * time; a sweep (a few times per idle timeout) times out exchanges whose backend went silent and
 * closes connections kept too long. Confined to its event loop.
 */
final class BackendConnections {
  /**
   * The exchange a backend connection serves: its response's parts come from the connection's
   * {@link BackendResponseReader} (the close ends a body that lasts until it), the rest from the
   * connection itself.
   */
  interface Exchange extends BackendResponseReader.Sink {
    /** A read from the backend is over: what it gave is flushed to the client. */
    void backendReadComplete(Connection connection);

    /** The backend sent what is not an HTTP/1.x response to the request. */
    void backendMalformed(Connection connection, String reason);

    /** The connection closed (or failed) while serving this exchange. */
    void backendClosed(Connection connection, Throwable cause);

    /** The backend's connection is writable again (request body backpressure). */
    void backendWritable(Connection connection);

    /** The backend sent nothing for the idle timeout while the exchange waited for it. */
    void backendSilent(Connection connection);
  }

  private final EventLoop loop;
  private final ChannelFactory<? extends Channel> channels;
  private final LongSupplier connectMillis;
  private final LongSupplier idleMillis;
  private final long keepAliveNanos;
  private final Map<Target, ArrayDeque<Connection>> idle = new HashMap<>();
  private final List<Connection> open = new ArrayList<>();
  private ScheduledFuture<?> sweeper;
  /** Exchanges carried so far; written on the loop only, read from anywhere. */
  private volatile long exchanges;

  /**
   * @param channels makes channels of the event loop's transport
   * @param connectMillis the connect timeout in force
   * @param idleMillis how long a backend may stay silent while an exchange waits for it
   * @param keepAliveMillis how long an idle connection is kept for reuse
   */
  BackendConnections(EventLoop loop, ChannelFactory<? extends Channel> channels, LongSupplier connectMillis, LongSupplier idleMillis, long keepAliveMillis) {
    this.loop = loop;
    this.channels = channels;
    this.connectMillis = connectMillis;
    this.idleMillis = idleMillis;
    this.keepAliveNanos = TimeUnit.MILLISECONDS.toNanos(keepAliveMillis);
  }

  EventLoop loop() {
    return loop;
  }

  /** Counts an exchange the fast path carries (call on the loop). */
  void counted() {
    exchanges = exchanges + 1; // single writer
  }

  long exchanges() {
    return exchanges;
  }

  /** A kept-alive connection to {@code target}, now serving {@code exchange}, or null when none is idle. */
  Connection reuse(Target target, Exchange exchange) {
    ArrayDeque<Connection> kept = idle.get(target);
    if (kept == null) {
      return null;
    }
    Connection c;
    while ((c = kept.pollFirst()) != null) {
      if (c.channel.isActive()) {
        c.serve(exchange);
        return c;
      }
    }
    return null;
  }

  /** Opens a new connection to {@code target} for {@code exchange}; {@code connected} learns the outcome. */
  void open(Target target, Exchange exchange, java.util.function.BiConsumer<Connection, Throwable> connected) {
    Connection c = new Connection(target);
    c.serve(exchange);
    ChannelFuture f =
        new Bootstrap()
            .group(loop)
            .channelFactory(channels)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectMillis.getAsLong()))
            .handler(new ChannelInboundHandlerAdapter())
            .connect(new InetSocketAddress(target.address(), target.dialPort()));
    c.channel = f.channel();
    f.addListener(done -> {
      if (!done.isSuccess()) {
        connected.accept(null, done.cause());
        return;
      }
      // Requests are encoded by Netty; responses are read as bytes by the connection's BackendResponseReader.
      c.channel.pipeline().addLast("encoder", new BackendRequestEncoder()).addLast("exchange", c);
      open.add(c);
      startSweeping();
      connected.accept(c, null);
    });
  }

  private void startSweeping() {
    if (sweeper == null) {
      long period = Math.max(50, Math.min(1000, idleMillis.getAsLong() / 4));
      sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }
  }

  private void sweep() {
    long now = System.nanoTime();
    long idleNanos = TimeUnit.MILLISECONDS.toNanos(idleMillis.getAsLong());
    for (Connection c : List.copyOf(open)) {
      if (c.exchange != null) {
        if (!c.channel.config().isAutoRead()) {
          c.lastActivity = now; // paused for a slow client: the backend is not the one keeping it waiting
        } else if (c.awaitingBackend && now - c.lastActivity > idleNanos) {
          c.exchange.backendSilent(c);
        }
      } else if (now - c.lastActivity > keepAliveNanos) {
        c.channel.close();
      }
    }
    if (open.isEmpty()) {
      sweeper.cancel(false);
      sweeper = null;
    }
  }

  /** Closes every connection (the listener stops). */
  void closeAll() {
    List.copyOf(open).forEach(c -> c.channel.close());
  }

  /** One backend connection; serves one exchange at a time. */
  final class Connection extends ChannelInboundHandlerAdapter {
    final Target target;
    private final BackendResponseReader reader = new BackendResponseReader();
    Channel channel;
    private Exchange exchange;
    /** Whether the exchange waits for the backend (request sent, response not complete). */
    boolean awaitingBackend;
    /** Whether it came from the idle set (a stale one may be retried). */
    boolean reused;
    long lastActivity = System.nanoTime();

    Connection(Target target) {
      this.target = target;
    }

    private void serve(Exchange e) {
      exchange = e;
      reused = channel != null;
      lastActivity = System.nanoTime();
    }

    /** The exchange's request is about to be sent: its response is read from now ({@code head}: a response to HEAD). */
    void expectResponse(boolean head) {
      reader.expect(head);
    }

    /** The request is sent: from now the backend has the idle timeout to answer (and to keep answering). */
    void awaitResponse() {
      awaitingBackend = true;
      lastActivity = System.nanoTime();
    }

    /** The exchange is done and the connection can carry another one. */
    void release() {
      exchange = null;
      awaitingBackend = false;
      lastActivity = System.nanoTime();
      if (!channel.isActive()) {
        return;
      }
      channel.config().setAutoRead(true);
      idle.computeIfAbsent(target, t -> new ArrayDeque<>()).addFirst(this);
    }

    /** The exchange is done with a connection that cannot be reused. */
    void discard() {
      exchange = null;
      channel.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      lastActivity = System.nanoTime();
      if (exchange == null || !(msg instanceof ByteBuf in)) {
        ReferenceCountUtil.release(msg); // nothing asked for it: a kept connection only speaks when spoken to
        ctx.close();
        return;
      }
      try {
        reader.read(in, ctx.alloc(), exchange);
      } catch (BackendResponseReader.Malformed e) {
        reader.release();
        Exchange x = exchange;
        exchange = null;
        ctx.close();
        if (x != null) {
          x.backendMalformed(this, e.getMessage());
        }
      } finally {
        in.release();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      Exchange e = exchange;
      if (e != null) {
        e.backendReadComplete(this);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      Exchange e = exchange;
      if (e != null && ctx.channel().isWritable()) {
        e.backendWritable(this);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      open.remove(this);
      ArrayDeque<Connection> kept = idle.get(target);
      if (kept != null) {
        kept.remove(this);
        if (kept.isEmpty()) {
          idle.remove(target);
        }
      }
      reader.release();
      Exchange e = exchange;
      exchange = null;
      if (e != null) {
        if (reader.readingUntilClose()) {
          e.end(false); // the close is the end of this body
        } else {
          e.backendClosed(this, null);
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Exchange e = exchange;
      exchange = null;
      if (e != null) {
        e.backendClosed(this, cause);
      }
      ctx.close();
    }
  }
}
