package dev.tollgate.ingress.terminate;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.common.TerminateConfig;
import dev.tollgate.common.metrics.ProxyMetrics;
import dev.tollgate.ingress.IngressSetup;
import dev.tollgate.ingress.impl.Http1Guard;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.ForwardOptions;
import dev.tollgate.tunnel.HttpForwarder;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * The terminating listeners of one ingress event loop: for each configured listener a TLS
 * {@link HttpServer} (kind {@code http}, plus its plain redirect companion) or a TLS
 * {@link NetServer} (kind {@code tunnelService}). Instances on every loop share the ports, as the
 * proxy listeners do; the certificates come from the node's {@link Terminations}.
 */
public final class TerminateServers {
  /**
   * Whether HTTP/1.1 requests to plain backends take the {@link Http1FastPath}; on by default,
   * {@code -Dtollgate.terminate.fastPath=false} sends every request through Vert.x's HTTP layer.
   */
  private static final boolean FAST_PATH = !"false".equals(System.getProperty("tollgate.terminate.fastPath"));
  /** How long an idle fast-path backend connection is kept for reuse, as the forwarders keep theirs. */
  private static final long BACKEND_KEEP_ALIVE_MILLIS = 60_000;

  private final Map<EventLoop, BackendConnections> backendConnections = new ConcurrentHashMap<>();
  private final Vertx vertx;
  private final IngressSetup setup;
  private final Supplier<NodeConfig.Timeouts> timeouts;
  private final Dialer dialer;
  private final HttpForwarder plain;
  private final HttpForwarder tls;
  private final NetClient tlsClient;
  private final Backends backends;
  private final Map<String, Integer> ports = new LinkedHashMap<>();
  private final Map<String, Integer> redirectPorts = new LinkedHashMap<>();
  private final List<HttpServer> httpServers = new ArrayList<>();
  private final List<NetServer> netServers = new ArrayList<>();
  private final List<TerminateHandler> handlers = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * @param timeouts the timeouts in force (connect and idle towards backends)
   * @param dialer connects plain tunnel-service backends (timeout, metrics)
   */
  public TerminateServers(Vertx vertx, IngressSetup setup, Supplier<NodeConfig.Timeouts> timeouts, Dialer dialer) {
    this.vertx = vertx;
    this.setup = setup;
    this.timeouts = timeouts;
    this.dialer = dialer;
    NodeConfig config = setup.config();
    this.plain = new HttpForwarder(vertx, new ForwardOptions(config.nodeName(), false, timeouts, Duration.ofSeconds(60), 256), setup.registry());
    // https:// backends are verified like intercepted upstreams: the JVM's trust store plus mitm.upstreamTrust.
    this.tls = new HttpForwarder(vertx, new ForwardOptions(config.nodeName(), false, timeouts, Duration.ofSeconds(60), 256), setup.registry(), setup.upstreamTrust());
    this.tlsClient = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true).setSsl(true).setHostnameVerificationAlgorithm("HTTPS").setTrustOptions(setup.upstreamTrust().defaultTrust()));
    this.backends = new Backends(vertx);
  }

  /** Starts every listener on this event loop. */
  public Future<Void> start() {
    Future<Void> chain = Future.succeededFuture();
    for (Terminations.Slot slot : setup.terminations().slots()) {
      chain = chain.compose(v -> slot.config.kind() == TerminateConfig.Kind.HTTP ? startHttp(slot) : startTunnelService(slot));
    }
    return chain;
  }

  private Future<Void> startHttp(Terminations.Slot slot) {
    TerminateConfig c = slot.config;
    NodeConfig config = setup.config();
    HttpServerOptions options = TlsSettings.apply(httpOptions(config, c.listen()), slot.handshakeTimeoutMillis);
    options.setSni(true).setUseAlpn(true).setClientAuth(Terminations.clientAuth(c))
        // WebSockets are relayed as bytes, never served here: no extension handler in the pipeline.
        .setPerMessageWebSocketCompressionSupported(false).setPerFrameWebSocketCompressionSupported(false)
        .setKeyCertOptions(slot.current.keyCertOptions());
    if (slot.current.clientTrust() != null) {
      options.setTrustOptions(slot.current.clientTrust());
    }
    TerminateHandler handler = new TerminateHandler(c, plain, tls, backends, setup.accessLog(), config.nodeName(), setup.policy());
    handlers.add(handler);
    HttpServer server =
        vertx.createHttpServer(options)
            .connectionHandler(conn -> {
              Http1Guard.install(conn, options, timeouts.get().header().toMillis(), false);
              handler.opened(conn, setup.capacity());
              if (FAST_PATH && conn instanceof Http1xServerConnection h1) {
                ChannelPipeline pipeline = h1.channel().pipeline();
                if (pipeline.get("chunkedWriter") != null) {
                  pipeline.remove("chunkedWriter"); // only for sending files, which a terminating listener never does
                }
                pipeline.addBefore("handler", Http1FastPath.NAME, new Http1FastPath(handler, conn, backendConnections(h1.channel().eventLoop()), setup.accessLog()));
              }
            })
            .exceptionHandler(e -> countHandshakeFailure(c.name(), e))
            .requestHandler(handler);
    httpServers.add(server);
    return server.listen().compose(s -> {
      ports.put(c.name(), s.actualPort());
      slot.servers.add(o -> s.updateSSLOptions(o, true));
      if (c.redirectHttp() == null) {
        return Future.succeededFuture();
      }
      int httpsPort = c.listen().port() == 0 ? s.actualPort() : c.listen().port();
      HttpServerOptions plainOptions = httpOptions(config, c.redirectHttp());
      HttpServer redirect =
          vertx.createHttpServer(plainOptions)
              .connectionHandler(conn -> Http1Guard.install(conn, plainOptions, timeouts.get().header().toMillis(), false))
              .requestHandler(new RedirectHandler(() -> httpsPort));
      httpServers.add(redirect);
      return redirect.listen().map(r -> {
        redirectPorts.put(c.name(), r.actualPort());
        return null;
      });
    });
  }

  private Future<Void> startTunnelService(Terminations.Slot slot) {
    TerminateConfig c = slot.config;
    NetServerOptions options =
        TlsSettings.apply(new NetServerOptions().setHost(c.listen().host()).setPort(c.listen().port()).setReuseAddress(true).setTcpNoDelay(true), slot.handshakeTimeoutMillis);
    options.setSni(true).setClientAuth(Terminations.clientAuth(c)).setKeyCertOptions(slot.current.keyCertOptions()).setTrustOptions(slot.current.clientTrust());
    TunnelService service =
        new TunnelService(c, backends, dialer, tlsClient, setup.upstreamTrust(), () -> timeouts.get().connect(), setup.registry(), setup.capacity(), setup.limiter(), setup.policy(), setup.accessLog());
    NetServer server = vertx.createNetServer(options).connectHandler(service).exceptionHandler(e -> countHandshakeFailure(c.name(), e));
    netServers.add(server);
    return server.listen().map(s -> {
      ports.put(c.name(), s.actualPort());
      slot.servers.add(o -> s.updateSSLOptions(o, true));
      return null;
    });
  }

  /** The fast path's backend connections of {@code loop} (each loop keeps its own). */
  private BackendConnections backendConnections(EventLoop loop) {
    return backendConnections.computeIfAbsent(loop, l -> new BackendConnections(
        l,
        ((VertxInternal) vertx).transport().channelFactory(false),
        () -> timeouts.get().connect().toMillis(),
        () -> timeouts.get().idle().toMillis(),
        BACKEND_KEEP_ALIVE_MILLIS));
  }

  private void countHandshakeFailure(String listener, Throwable e) {
    if (e instanceof SSLException || e.getCause() instanceof SSLException) {
      ProxyMetrics metrics = setup.accessLog().metrics();
      metrics.handshakeFailure(listener);
    }
  }

  private static HttpServerOptions httpOptions(NodeConfig config, HostPort listen) {
    return dev.tollgate.ingress.IngressVerticle.baseOptions(config, listen);
  }

  /** The TLS ports bound, by listener name. */
  public Map<String, Integer> ports() {
    return Map.copyOf(ports);
  }

  /** Requests the HTTP/1.1 fast path has carried on this verticle's listeners. */
  public long fastPathExchanges() {
    return backendConnections.values().stream().mapToLong(BackendConnections::exchanges).sum();
  }

  /** The plain redirect ports bound, by listener name. */
  public Map<String, Integer> redirectPorts() {
    return Map.copyOf(redirectPorts);
  }

  /** The first step of a drain: HTTP/1.x responses close their connections. Callable from any thread. */
  public void closeConnectionsAfterResponses() {
    handlers.forEach(TerminateHandler::closeConnectionsAfterResponses);
  }

  /** Stops accepting (a drain); connections get up to {@code timeout} to finish. */
  public Future<Void> stopAccepting(Duration timeout) {
    List<Future<Void>> all = new ArrayList<>();
    httpServers.forEach(s -> all.add(s.shutdown(timeout.toMillis(), TimeUnit.MILLISECONDS)));
    netServers.forEach(s -> all.add(s.shutdown(timeout.toMillis(), TimeUnit.MILLISECONDS)));
    return Future.join(all).mapEmpty();
  }
}
