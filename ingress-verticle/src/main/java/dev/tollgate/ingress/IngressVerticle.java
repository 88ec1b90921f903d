package dev.tollgate.ingress;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.common.metrics.ProxyMetrics;
import dev.tollgate.common.policy.TimeoutsInForce;
import dev.tollgate.ingress.impl.AllowedPrivate;
import dev.tollgate.ingress.impl.ConnectHandler;
import dev.tollgate.ingress.impl.ForwardHandler;
import dev.tollgate.ingress.impl.Http1Guard;
import dev.tollgate.ingress.impl.Interception;
import dev.tollgate.ingress.impl.ProxyHandler;
import dev.tollgate.ingress.terminate.TerminateServers;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.ForwardOptions;
import dev.tollgate.tunnel.HttpForwarder;
import dev.tollgate.tunnel.rewrite.Rewriter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The proxy listeners of one event loop: plain (HTTP/1.1 and h2c) and, when configured, TLS
 * (h2 and HTTP/1.1 by ALPN). Deployed once per core; instances share the listening ports.
 */
public final class IngressVerticle extends VerticleBase {
  private final IngressSetup setup;
  private final List<HttpServer> servers = new ArrayList<>();
  private Interception interception;
  private volatile ProxyHandler handler;
  private volatile TerminateServers terminate;

  public IngressVerticle(IngressSetup setup) {
    this.setup = setup;
  }

  @Override
  public Future<?> start() {
    NodeConfig config = setup.config();
    NodeConfig.Timeouts timeouts = config.timeouts();
    TimeoutsInForce inForce = new TimeoutsInForce(timeouts, setup.policy());
    ProxyMetrics metrics = setup.accessLog().metrics();
    Dialer dialer = new Dialer(vertx, new AllowedPrivate(config.allowPrivate(), setup.policy()), () -> inForce.get().connect(), setup.self(), metrics, setup.upstreamTrust());
    watchLoopLag(metrics);
    // Rewrite rules apply to plain forwarded requests too: both go through the same forwarder code.
    Rewriter rewriter = new Rewriter(vertx, setup.policy()::get, config.ca().rewriteMaxBody());
    HttpForwarder forwarder =
        new HttpForwarder(
            vertx,
            new ForwardOptions(
                config.nodeName(), config.xForwardedFor(), inForce, Duration.ofSeconds(60), 256),
            setup.registry()).withRewriter(rewriter);
    interception =
        new Interception(
            vertx,
            new HttpForwarder(vertx, new ForwardOptions(config.nodeName(), config.xForwardedFor(), inForce, Duration.ofSeconds(60), 256), setup.registry(), setup.upstreamTrust()).withRewriter(rewriter),
            dialer,
            setup.registry(),
            setup.leaves(),
            setup.policy(),
            setup.limiter(),
            setup.accessLog(),
            setup.passthrough());
    handler =
        new ProxyHandler(
            new ConnectHandler(dialer, setup.registry(), config.connectPorts(), setup.limiter(), setup.accessLog(), interception),
            new ForwardHandler(dialer, forwarder, config.nodeName(), setup.limiter(), setup.accessLog()),
            setup.policy(),
            setup.authenticator(),
            setup.accessLog(),
            setup.capacity());
    List<Future<HttpServer>> listening = new ArrayList<>();
    listening.add(listen(baseOptions(config, config.proxyListen()), handler, inForce));
    if (config.hasTlsListener()) {
      HttpServerOptions tls =
          baseOptions(config, config.proxyTlsListen())
              .setSsl(true)
              .setUseAlpn(true)
              .setSslHandshakeTimeout(timeouts.header().toMillis())
              .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
              .setKeyCertOptions(new PemKeyCertOptions().setCertValue(setup.tlsCertPem()).setKeyValue(setup.tlsKeyPem()));
      listening.add(listen(tls, handler, inForce));
    }
    terminate = new TerminateServers(vertx, setup, inForce, dialer);
    return interception.start(timeouts.header().toMillis()).compose(v -> Future.all(listening)).compose(v -> terminate.start());
  }

  private Future<HttpServer> listen(HttpServerOptions options, ProxyHandler handler, TimeoutsInForce timeouts) {
    // On the plain listener h2c prior knowledge is detected by our own decoder (see H2cHandoff).
    boolean detectH2c = !options.isSsl();
    HttpServer server =
        vertx.createHttpServer(options)
            .connectionHandler(c -> {
              countClient(c);
              Http1Guard.install(c, options, timeouts.get().header().toMillis(), detectH2c);
            })
            .requestHandler(handler);
    if (options.isSsl()) {
      ProxyMetrics metrics = setup.accessLog().metrics();
      server.exceptionHandler(e -> {
        if (e instanceof javax.net.ssl.SSLException || e.getCause() instanceof javax.net.ssl.SSLException) {
          metrics.handshakeFailure("proxy-tls");
        }
      });
    }
    servers.add(server);
    return server.listen();
  }

  /** The HTTP server options every listener of the node starts from (terminating ones too). */
  public static HttpServerOptions baseOptions(NodeConfig config, HostPort listen) {
    return new HttpServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setReuseAddress(true)
        .setTcpNoDelay(true)
        .setHandle100ContinueAutomatically(true)
        .setMaxHeaderSize(config.maxHeaderSize())
        .setMaxInitialLineLength(config.maxUriLength())
        // A backstop for kept-alive connections; longer than an upstream may take to answer
        // (connect + idle), so a waiting client gets its 504 rather than a silent close.
        .setIdleTimeout((int) (config.timeouts().idle().plus(config.timeouts().connect()).toMillis()))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setHttp2ClearTextEnabled(false);
  }

  /**
   * Counts the connection against its client address; one over the cap is marked, and its
   * requests are answered 429 (see {@link ProxyHandler}).
   */
  private void countClient(io.vertx.core.http.HttpConnection c) {
    var remote = c.remoteAddress();
    if (remote == null) {
      return;
    }
    String ip = remote.hostAddress();
    if (!setup.capacity().opened(ip)) {
      ProxyHandler.markOverClientCap(c);
    }
    c.closeHandler(v -> setup.capacity().closed(ip));
  }

  /** Measures how late a 100 ms timer fires on this verticle's event loop (a blocked loop shows here). */
  private void watchLoopLag(ProxyMetrics metrics) {
    long period = 100_000_000L;
    long[] expected = {System.nanoTime() + period};
    vertx.setPeriodic(100, id -> {
      long now = System.nanoTime();
      metrics.eventLoopLag(Math.max(0, now - expected[0]));
      expected[0] = now + period;
    });
  }

  /**
   * The first step of a drain, while the listeners still accept: HTTP/1.x responses carry
   * {@code Connection: close} and end their connection. Callable from any thread.
   */
  public void closeConnectionsAfterResponses() {
    ProxyHandler h = handler;
    if (h != null) {
      h.closeConnectionsAfterResponses();
    }
    TerminateServers t = terminate;
    if (t != null) {
      t.closeConnectionsAfterResponses();
    }
  }

  /**
   * Stops accepting connections (a drain): kept-alive connections are closed once idle, and the
   * rest at the latest after {@code timeout}. Callable from any thread.
   */
  public Future<Void> stopAccepting(Duration timeout) {
    List<Future<Void>> all = new ArrayList<>(servers.stream().map(s -> s.shutdown(timeout.toMillis(), TimeUnit.MILLISECONDS)).toList());
    all.add(terminate.stopAccepting(timeout));
    return Future.join(all).mapEmpty();
  }

  /** The terminating listeners' TLS ports, by listener name. */
  public Map<String, Integer> terminatePorts() {
    return terminate.ports();
  }

  /** Requests the terminating listeners' HTTP/1.1 fast path has carried on this verticle's loop. */
  public long terminateFastPathExchanges() {
    return terminate.fastPathExchanges();
  }

  /** The terminating listeners' plain redirect ports, by listener name. */
  public Map<String, Integer> redirectPorts() {
    return terminate.redirectPorts();
  }

  /** The ports the listeners actually bound (useful with port 0 in tests). */
  public List<Integer> boundPorts() {
    return servers.stream().map(HttpServer::actualPort).toList();
  }
}
