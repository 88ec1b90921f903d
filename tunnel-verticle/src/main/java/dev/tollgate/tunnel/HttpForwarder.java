package dev.tollgate.tunnel;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.limits.TokenBucket;
import dev.tollgate.tunnel.impl.Pump;
import dev.tollgate.tunnel.impl.HopByHop;
import dev.tollgate.tunnel.impl.Http2Translation;
import dev.tollgate.tunnel.impl.Upload;
import dev.tollgate.tunnel.rewrite.ExchangeRewrite;
import dev.tollgate.tunnel.rewrite.Rewriter;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Forwards absolute-form requests to their upstream over pooled keep-alive connections: HTTP/1.1
 * for plain upstreams; for TLS upstreams h2 or HTTP/1.1, as the upstream picks by ALPN (requests
 * are fitted to the version, see {@link Http2Translation}), with the dialing and TLS settings of
 * {@link UpstreamTls} for the request's host.
 * Bodies stream both ways with backpressure (never buffered whole) and are shaped by the user's
 * byte bucket; hop-by-hop headers are dropped both ways and {@code Via} is added. A protocol
 * upgrade (WebSocket) becomes a registered tunnel after the upstream's 101. One per event loop.
 */
public final class HttpForwarder {
  private static final Set<String> DROP_UP = Set.of("expect", "x-forwarded-for-tollgate");
  private static final Set<String> NO_BODY_METHODS = Set.of("GET", "HEAD", "DELETE", "OPTIONS", "TRACE");
  /** Sent again, once, when a pooled connection turns out stale: idempotent, and only without a body. */
  public static final Set<String> RETRYABLE = Set.of("GET", "HEAD", "PUT", "DELETE", "OPTIONS");

  private final ForwardOptions options;
  private final HttpClientAgent client;
  /** HTTP/1.1 only: a protocol upgrade (WebSocket) has no h2 form here. The same client when plain. */
  private final HttpClientAgent upgradeClient;
  private final UpstreamTls upstreams;
  private final TunnelRegistry registry;
  private final Vertx vertx;
  private final boolean tls;
  private Rewriter rewriter;

  public HttpForwarder(Vertx vertx, ForwardOptions options, TunnelRegistry registry) {
    this(vertx, options, registry, UpstreamTls.none());
  }

  /**
   * @param upstreams when it has {@link UpstreamTls#defaultTrust() trust anchors}, every upstream
   *     is reached over TLS, its certificate verified against them and the request's host name
   *     (SNI is that name), unless the host has {@code upstreams:} settings of its own; without
   *     anchors, plain HTTP
   */
  public HttpForwarder(Vertx vertx, ForwardOptions options, TunnelRegistry registry, UpstreamTls upstreams) {
    this.vertx = vertx;
    this.options = options;
    this.registry = registry;
    this.upstreams = upstreams;
    this.tls = upstreams.defaultTrust() != null;
    PoolOptions pool = new PoolOptions().setHttp1MaxSize(options.maxPerUpstream()).setMaxWaitQueueSize(4096);
    this.client = vertx.createHttpClient(clientOptions(tls ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1), pool);
    this.upgradeClient = tls ? vertx.createHttpClient(clientOptions(HttpVersion.HTTP_1_1), pool) : client;
  }

  private HttpClientOptions clientOptions(HttpVersion version) {
    HttpClientOptions clientOptions =
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                .setKeepAlive(true)
                .setKeepAliveTimeout((int) Math.max(1, options.keepAlive().toSeconds()))
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(16 * 1024)
                .setMaxHeaderSize(64 * 1024)
                .setDecompressionSupported(false);
    if (tls) {
      // Verification is never switched off: the trust anchors and the host name are checked
      // (UpstreamTls routes bring their own trust manager for a configured verifyName).
      clientOptions
          .setSsl(true)
          .setVerifyHost(true)
          .setForceSni(true)
          .setTrustOptions(upstreams.defaultTrust())
          .setUseAlpn(true)
          .setAlpnVersions(version == HttpVersion.HTTP_2 ? List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1) : List.of(HttpVersion.HTTP_1_1))
          .setProtocolVersion(version)
          .setHttp2KeepAliveTimeout((int) Math.max(1, options.keepAlive().toSeconds()));
    }
    return clientOptions;
  }

  /**
   * Applies the policy's rewrite rules to the exchanges this forwarder carries (call before the
   * first request). Exchanges no rule matches are forwarded exactly as without it.
   */
  public HttpForwarder withRewriter(Rewriter rewriter) {
    this.rewriter = rewriter;
    return this;
  }

  /**
   * Forwards {@code request} (paused by the caller) to {@code target}. Fails with a
   * {@link ProxyFailure} while nothing has been answered; once the response head is out, a
   * failure resets the client connection instead.
   *
   * @param pathAndQuery the origin-form target to send upstream ({@code /path?query})
   * @param clientIp the client's IP, for {@code X-Forwarded-For} when switched on
   * @param clientAddress the client's address ({@code ip:port}), for the tunnel registry on upgrades
   * @param bytes the user's byte bucket: request and response bodies are shaped by it (null: unlimited)
   * @param user the authenticated user, or null: an upgraded connection is registered as theirs
   */
  public Future<Void> forward(
      HttpServerRequest request, Target target, String pathAndQuery, String clientIp, String clientAddress, TokenBucket bytes, String user) {
    return forward(request, target, null, pathAndQuery, clientIp, clientAddress, bytes, user);
  }

  /**
   * Like {@link #forward(HttpServerRequest, Target, String, String, String, TokenBucket, String)},
   * sending {@code host} as {@code Host} ({@code :authority} to h2) instead of the target's own
   * authority: a terminating listener that preserves the client's host. The connection, SNI and
   * certificate check still follow the target.
   *
   * @param host the host and port to name, the port left out when it is 443; null: the target's
   */
  public Future<Void> forward(
      HttpServerRequest request,
      Target target,
      HostPort host,
      String pathAndQuery,
      String clientIp,
      String clientAddress,
      TokenBucket bytes,
      String user) {
    boolean upgrade = request.version() != HttpVersion.HTTP_2 && HopByHop.isUpgrade(request.headers());
    MultiMap headers = HttpHeaders.headers();
    HopByHop.copy(request.headers(), headers, upgrade, DROP_UP);
    headers.set(HttpHeaders.HOST, host == null ? hostHeader(target) : authority(host.host(), host.port(), 443));
    headers.add("via", via(request.version()));
    if (options.xForwardedFor()) {
      String prior = request.headers().get("x-forwarded-for");
      headers.set("x-forwarded-for", prior == null ? clientIp : prior + ", " + clientIp);
    }
    ExchangeRewrite rewrite = rewriter == null ? null : rewriter.exchange(target.host(), pathAndQuery);
    if (rewrite != null) {
      rewrite.request(headers);
    }
    RequestOptions ro =
        new RequestOptions()
            .setMethod(request.method())
            .setServer(SocketAddress.inetSocketAddress(target.dialPort(), target.address().getHostAddress()))
            .setHost(target.host())
            .setPort(target.port())
            .setURI(pathAndQuery)
            .setHeaders(headers)
            .setConnectTimeout(options.timeouts().get().connect().toMillis());
    UpstreamTls.Route route = tls ? upstreams.route(target.host(), target.port()) : null;
    if (route != null && route.sslOptions() != null) {
      // The connection's host is the SNI name (Vert.x pools by it and by these options, so
      // upstreams with other names or checks never share a connection); Host stays the request's.
      ro.setHost(route.sni()).setSslOptions(route.sslOptions());
    }
    if (upgrade) {
      return upgradeClient
          .request(ro)
          .recover(e -> Future.failedFuture(Dialer.connectFailure(target, e)))
          .compose(upstream -> switchProtocols(request, upstream, target, clientAddress, new TunnelOwner(user, bytes, () -> {})));
    }
    boolean retryable = RETRYABLE.contains(request.method().name()) && !hasBody(request, request.getHeader(HttpHeaders.CONTENT_LENGTH));
    return attempt(request, ro, target, host, bytes, rewrite).recover(e -> {
      if (retryable && e instanceof StaleConnection) {
        // A pooled connection the upstream had closed: an idempotent request without a body is sent once more, on a fresh one.
        return attempt(request, ro, target, host, bytes, rewrite);
      }
      return Future.failedFuture(e);
    }).recover(e -> Future.failedFuture(e instanceof StaleConnection s ? upstreamFailure(s.getCause()) : e));
  }

  /** @param host the host to name upstream, or null for the target's own */
  private Future<Void> attempt(HttpServerRequest request, RequestOptions ro, Target target, HostPort host, TokenBucket bytes, ExchangeRewrite rewrite) {
    return client
        .request(ro)
        .recover(e -> Future.failedFuture(Dialer.connectFailure(target, e)))
        .compose(upstream -> {
          if (host == null) {
            Http2Translation.adapt(upstream, target.host(), target.port());
          } else {
            Http2Translation.adapt(upstream, host.host(), host.port());
          }
          return exchange(request, upstream, bytes, rewrite);
        });
  }

  /** The upstream closed a (pooled) connection before answering anything. */
  private static final class StaleConnection extends RuntimeException {
    StaleConnection(Throwable cause) {
      super("the upstream closed the connection before answering", cause, false, false);
    }
  }

  private Future<Void> exchange(HttpServerRequest request, HttpClientRequest upstream, TokenBucket bytes, ExchangeRewrite rewrite) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    long idle = options.timeouts().get().idle().toMillis();
    Upload upload = new Upload(vertx, request, upstream, bytes);
    if (hasBody(request, length)) {
      if (length == null) {
        upstream.setChunked(true);
      }
      // The response timeout starts once the body is sent: a long upload is not a silent upstream.
      upload.sendBody().onSuccess(v -> upstream.idleTimeout(idle)).onFailure(upload::abandon);
    } else {
      upstream.idleTimeout(idle);
      upload.sendWithoutBody().onFailure(upload::abandon);
    }
    return upstream
        .response()
        .recover(e -> Future.failedFuture(e instanceof HttpClosedException && !request.response().headWritten() ? new StaleConnection(e) : upstreamFailure(e)))
        .compose(r -> relayResponse(request, r, bytes, upload::abandon, rewrite));
  }

  private static boolean hasBody(HttpServerRequest request, String length) {
    if (length != null) {
      return !length.equals("0");
    }
    if (request.version() == HttpVersion.HTTP_2) {
      return !NO_BODY_METHODS.contains(request.method().name());
    }
    return request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  /**
   * @param giveUp tears the upstream exchange down when the client leaves mid-response
   * @param rewrite the rewrite rules of this exchange, or null
   */
  private Future<Void> relayResponse(
      HttpServerRequest request, HttpClientResponse upstream, TokenBucket bytes, Consumer<Throwable> giveUp, ExchangeRewrite rewrite) {
    HttpServerResponse response = request.response();
    response.setStatusCode(upstream.statusCode());
    if (request.version() != HttpVersion.HTTP_2 && upstream.statusMessage() != null) {
      response.setStatusMessage(upstream.statusMessage());
    }
    HopByHop.copy(upstream.headers(), response.headers(), false, Set.of());
    response.headers().add("via", via(upstream.version()));
    if (rewrite != null) {
      rewrite.response(response.headers());
    }
    if (request.method() == HttpMethod.HEAD || upstream.statusCode() == 204 || upstream.statusCode() == 304) {
      return upstream.end().compose(v -> response.end());
    }
    if (rewrite != null && rewrite.rewritesBody(upstream.statusCode(), response.headers())) {
      return rewrite.collect(upstream, response, giveUp).compose(body -> body.whole()
          ? rewrite.send(body.bytes(), response, bytes)
          : relayBody(upstream, response, bytes, giveUp, body.bytes()));
    }
    return relayBody(upstream, response, bytes, giveUp, null);
  }

  /**
   * Streams the upstream body into the client's response with backpressure and shaping. Unlike a
   * plain pipe it stops cleanly when the client leaves mid-response: chunks Vert.x already queued
   * are dropped instead of written into a closed response, and the upstream exchange is given up.
   *
   * @param head the start of the body, already read (a body too large to rewrite), or null
   */
  private Future<Void> relayBody(
      HttpClientResponse upstream, HttpServerResponse response, TokenBucket bytes, Consumer<Throwable> giveUp, Buffer head) {
    Promise<Void> done = Promise.promise();
    if (!response.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
      response.setChunked(true);
    }
    Pump download = new Pump(vertx, upstream, response, n -> {}, bytes, () -> response.closed() || response.ended());
    response.closeHandler(v -> {
      download.stop();
      VertxException left = new VertxException("the client left mid-response", true);
      giveUp.accept(left);
      done.tryFail(left);
    });
    upstream.exceptionHandler(e -> {
      download.stop();
      done.tryFail(e);
    });
    upstream.endHandler(v -> {
      download.stop();
      if (!response.closed() && !response.ended()) {
        // The client may close right after the end (Connection: close) and fail done first.
        response.end().onComplete(ar -> {
          if (ar.succeeded()) {
            done.tryComplete();
          } else {
            done.tryFail(ar.cause());
          }
        });
      } else {
        done.tryFail("the client left mid-response");
      }
    });
    if (head != null) {
      response.write(head);
    }
    download.start();
    return done.future();
  }

  private Future<Void> switchProtocols(
      HttpServerRequest request, HttpClientRequest upstream, Target target, String clientAddress, TunnelOwner owner) {
    request.resume();
    return upstream
        .connect()
        .recover(e -> Future.failedFuture(upstreamFailure(e)))
        .compose(
            r -> {
              if (r.statusCode() != 101) {
                return relayResponse(request, r, null, e -> r.request().reset(), null);
              }
              HttpServerResponse response = request.response();
              response.setStatusCode(101);
              r.headers().forEach(h -> response.headers().add(h.getKey(), h.getValue()));
              return request
                  .toNetSocket()
                  .map(
                      clientSocket -> {
                        registry.open(
                            io.vertx.core.Vertx.currentContext(), clientAddress, target, clientSocket, r.netSocket(), owner);
                        return null;
                      });
            });
  }

  private String via(HttpVersion version) {
    String protocol =
        switch (version) {
          case HTTP_1_0 -> "1.0";
          case HTTP_2 -> "2";
          default -> "1.1";
        };
    return protocol + " " + options.nodeName() + " (tollgate)";
  }

  private String hostHeader(Target target) {
    return authority(target.host(), target.port(), tls ? 443 : 80);
  }

  /** {@code host[:port]}, the port left out when it is {@code defaultPort}; IPv6 literals bracketed. */
  public static String authority(String host, int port, int defaultPort) {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return port == defaultPort ? h : h + ":" + port;
  }

  private static ProxyFailure upstreamFailure(Throwable e) {
    if (e instanceof ProxyFailure pf) {
      return pf;
    }
    if (e instanceof TimeoutException || String.valueOf(e.getMessage()).contains("timeout period")) {
      return ProxyFailure.timeout("upstream did not answer in time");
    }
    return ProxyFailure.upstream("upstream failed: " + e.getMessage(), e);
  }

  public Future<Void> close() {
    return upgradeClient == client ? client.close() : Future.join(client.close(), upgradeClient.close()).mapEmpty();
  }
}
