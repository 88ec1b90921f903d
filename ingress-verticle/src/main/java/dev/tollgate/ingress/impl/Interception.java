package dev.tollgate.ingress.impl;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.limits.TokenBucket;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.ingress.RequestTargets;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.ingress.log.Exchanges;
import dev.tollgate.ingress.terminate.TlsSettings;
import dev.tollgate.mitm.LeafCache;
import dev.tollgate.mitm.intercept.ClientHello;
import dev.tollgate.mitm.intercept.InterceptServer;
import dev.tollgate.mitm.intercept.Passthrough;
import dev.tollgate.tunnel.Dialer;
import dev.tollgate.tunnel.HttpForwarder;
import dev.tollgate.tunnel.Target;
import dev.tollgate.tunnel.Tunnel;
import dev.tollgate.tunnel.TunnelOwner;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Intercepted CONNECT tunnels. After the 200, the client's first bytes decide: a TLS ClientHello
 * is intercepted — a leaf for its SNI name (or the CONNECT host) is minted off the loop (cached),
 * and the tunnel is relayed into this event loop's {@link InterceptServer}, which terminates TLS
 * and hands each inner request here; anything else is relayed to the target as an ordinary
 * tunnel. Inner requests are decided by the policy again (on the host they name), counted against
 * the user's limits, logged, and forwarded over TLS to the real upstream — connected only then
 * (lazily), and verified against the JVM's trust store plus {@code mitm.upstreamTrust}.
 */
public final class Interception {
  private final Vertx vertx;
  private final InterceptServer server;
  private final HttpForwarder forwarder;
  private final Dialer dialer;
  private final TunnelRegistry registry;
  private final Supplier<LeafCache> leaves;
  private final AtomicReference<Policy> policy;
  private final UserLimiter limiter;
  private final AccessLog accessLog;
  private final NetClient loopback;
  private final Supplier<Passthrough> passthrough;

  public Interception(
      Vertx vertx,
      HttpForwarder tlsForwarder,
      Dialer dialer,
      TunnelRegistry registry,
      Supplier<LeafCache> leaves,
      AtomicReference<Policy> policy,
      UserLimiter limiter,
      AccessLog accessLog,
      Supplier<Passthrough> passthrough) {
    this.passthrough = passthrough;
    this.vertx = vertx;
    this.forwarder = tlsForwarder;
    this.dialer = dialer;
    this.registry = registry;
    this.leaves = leaves;
    this.policy = policy;
    this.limiter = limiter;
    this.accessLog = accessLog;
    this.server = new InterceptServer(vertx);
    this.loopback = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true));
  }

  /** Whether {@code host} is on the passthrough list: its tunnels are relayed blind. */
  public boolean passthrough(String host) {
    return passthrough.get().contains(host);
  }

  /** Starts the interception server on this event loop. */
  public Future<Void> start(long handshakeTimeoutMillis) {
    return server.start(this::inner, handshakeTimeoutMillis, TlsSettings.engine());
  }

  /**
   * Opens an intercepted tunnel for a CONNECT to {@code target} (resolved and checked): answers
   * 200, reads the first bytes, then intercepts or relays. Completes with the tunnel.
   */
  public Future<Tunnel> open(HttpServerRequest request, String client, Target target, TunnelOwner owner, Supplier<Buffer> early) {
    Context context = Vertx.currentContext();
    return request.toNetSocket().compose(clientSocket -> firstBytes(clientSocket, early.get()).compose(first -> {
      if (!ClientHello.isTls(first)) {
        return dialer.connect(target).map(upstream -> {
          upstream.write(first);
          return registry.open(context, client, target, clientSocket, upstream, owner);
        });
      }
      String sni = ClientHello.serverName(first);
      String name = sni != null ? sni : target.host();
      return Future.fromCompletionStage(leaves.get().get(name), context)
          .compose(leaf -> loopback.connect(server.port(), "127.0.0.1").map(inner -> {
            int port = inner.localAddress().port();
            server.register(port, new InterceptServer.Session(target.host(), target.port(), owner.user(), client, leaf));
            inner.write(first);
            Tunnel tunnel = registry.open(context, client, target, clientSocket, inner, owner);
            tunnel.closed().onComplete(ar -> {
              if (server.certificateRejected(port)) {
                passthrough.get().rejected(name, client);
              }
              server.unregister(port);
            });
            return tunnel;
          }))
          .onFailure(e -> clientSocket.close());
    }));
  }

  /** The bytes that came with the CONNECT, or the first chunk after it (the socket is left paused). */
  private static Future<Buffer> firstBytes(NetSocket socket, Buffer early) {
    if (early != null && early.length() > 0) {
      socket.pause();
      return Future.succeededFuture(early);
    }
    Promise<Buffer> first = Promise.promise();
    socket.handler(b -> {
      socket.pause();
      socket.handler(null);
      first.tryComplete(b);
    });
    socket.closeHandler(v -> first.tryFail("the client closed the tunnel before sending anything"));
    return first.future();
  }

  /** A request inside an intercepted tunnel. */
  private void inner(HttpServerRequest request) {
    request.pause();
    var remote = request.remoteAddress();
    InterceptServer.Session session = remote == null ? null : server.session(remote.port());
    if (session == null) {
      request.response().setStatusCode(421).end();
      return;
    }
    AccessRecord record = new AccessRecord(session.client(), request.method().name()).user(session.user());
    try {
      HostPort hp = innerTarget(request, session);
      String path = request.uri().isEmpty() ? "/" : request.uri();
      record.target("https://" + new HostPort(hp.host(), hp.port()) + path);
      Policy inForce = policy.get();
      Decisions.require(inForce, request.method().name(), hp.host(), hp.port(), session.user(), record);
      Decisions.rate(limiter, inForce, session.user());
      Decisions.quota(limiter, inForce, session.user(), true);
      // The tunnel around this request already shapes and counts its bytes (on the wire, TLS
      // included); charging the inner bodies again would halve the user's rate and double their count.
      TokenBucket bytes = null;
      String clientIp = HostPort.parse(session.client()).host();
      dialer
          .resolve(hp.host(), hp.port())
          .compose(t -> forwarder.forward(request, t, path, clientIp, session.client(), bytes, session.user()))
          .onSuccess(v -> accessLog.log(record, request.response().getStatusCode(), request.bytesRead(), request.response().bytesWritten()))
          .onFailure(e -> Exchanges.fail(request, record, accessLog, e));
    } catch (RuntimeException e) {
      Exchanges.fail(request, record, accessLog, e);
    }
  }

  /** The host the inner request names (h2 :authority or Host), defaulting to the tunnel's. */
  private static HostPort innerTarget(HttpServerRequest request, InterceptServer.Session session) {
    HostAndPort authority = request.version() == HttpVersion.HTTP_2 ? request.authority() : null;
    String text = authority != null ? authorityText(authority) : request.getHeader("host");
    if (text == null || text.isBlank()) {
      return new HostPort(session.host(), session.port());
    }
    try {
      return RequestTargets.hostWithDefaultPort(text, session.port());
    } catch (RuntimeException e) {
      throw ProxyFailure.badRequest("bad Host header: " + text);
    }
  }

  private static String authorityText(HostAndPort authority) {
    String host = authority.host();
    if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return authority.port() < 0 ? host : host + ":" + authority.port();
  }

  public Future<Void> close() {
    return Future.join(server.close(), loopback.close(), forwarder.close()).mapEmpty();
  }
}
