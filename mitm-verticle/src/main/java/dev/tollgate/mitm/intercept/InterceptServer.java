package dev.tollgate.mitm.intercept;

import dev.tollgate.mitm.LeafCertificate;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The TLS end of intercepted tunnels. An intercepted client's bytes are relayed (like any tunnel,
 * on the same event loop) into a loopback connection to this server, which terminates TLS with a
 * leaf certificate minted for that tunnel's host and parses the HTTP inside (h2 or HTTP/1.1 by
 * ALPN). The leaf is found by the loopback connection's port, registered as a {@link Session}
 * before the first byte is sent, so no SNI is needed (IP targets) and nothing is minted during
 * the handshake: minting happened off the event loop before. One per ingress event loop.
 */
public final class InterceptServer {
  /**
   * One intercepted tunnel.
   *
   * @param host the tunnel's host (CONNECT target), the default for requests without a Host
   * @param port the tunnel's port
   * @param user the tunnel's authenticated user, or null
   * @param client the client's address ({@code ip:port})
   * @param leaf the certificate shown to the client
   */
  public record Session(String host, int port, String user, String client, LeafCertificate leaf) {}

  private final Vertx vertx;
  private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
  private final Map<Integer, SSLEngine> engines = new ConcurrentHashMap<>();
  private HttpServer server;

  public InterceptServer(Vertx vertx) {
    this.vertx = vertx;
  }

  /**
   * Starts listening on a loopback port (call on the event loop that relays the tunnels).
   *
   * @param engine the TLS engine: OpenSSL's handshakes cost a fraction of the JDK's, and both ask
   *     the session key manager for the leaf with the (Netty) engine that knows the peer port
   */
  public Future<Void> start(Handler<HttpServerRequest> requests, long handshakeTimeoutMillis, SSLEngineOptions engine) {
    server = vertx.createHttpServer(new HttpServerOptions()
        .setHost("127.0.0.1")
        .setPort(0)
        .setSsl(true)
        .setSslEngineOptions(engine)
        .setUseAlpn(true)
        .setSslHandshakeTimeout(handshakeTimeoutMillis)
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setKeyCertOptions(KeyCertOptions.wrap(new SessionKeyManager())))
        .requestHandler(requests);
    return server.listen().mapEmpty();
  }

  public int port() {
    return server.actualPort();
  }

  /** Announces the tunnel that will connect from loopback port {@code localPort}. */
  public void register(int localPort, Session session) {
    sessions.put(localPort, session);
  }

  public void unregister(int localPort) {
    sessions.remove(localPort);
    engines.remove(localPort);
  }

  /**
   * Whether the client of this session got Tollgate's certificate and then did not complete the
   * handshake: it rejected the certificate (an alert, pinning) or gave up. A client that never
   * sent a usable ClientHello does not count.
   */
  public boolean certificateRejected(int localPort) {
    SSLEngine engine = engines.get(localPort);
    // Still "in the handshake" when the connection ended: both engines return a handshake session
    // from the moment the handshake starts until it completes, and null once it has (the JDK's
    // getSession() already names the suite in TLS 1.3, so it cannot tell). The engine is only
    // recorded once the leaf was chosen, i.e. after a ClientHello this server could answer.
    return engine != null && engine.getHandshakeSession() != null;
  }

  /** The session of a connection to this server, by its remote (loopback) port. */
  public Session session(int remotePort) {
    return sessions.get(remotePort);
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /**
   * Chooses the leaf of the session whose loopback port the handshake comes from. Aliases are
   * ports, reused by later sessions: fine with the JDK and with Netty's OpenSSL provider, which
   * ask for the chain and key on every handshake, but never to be wrapped in Netty's
   * {@code OpenSslCachingX509KeyManagerFactory}, which would serve an earlier session's leaf.
   */
  private final class SessionKeyManager extends X509ExtendedKeyManager {
    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      Session s = engine == null ? null : sessions.get(engine.getPeerPort());
      if (s == null || !matches(s, keyType)) {
        return null;
      }
      engines.put(engine.getPeerPort(), engine);
      return alias(engine.getPeerPort());
    }

    private boolean matches(Session s, String keyType) {
      String algorithm = s.leaf().privateKey().getAlgorithm();
      return keyType.regionMatches(true, 0, algorithm, 0, algorithm.length());
    }

    private String alias(int port) {
      return Integer.toString(port);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Session s = sessions.get(Integer.parseInt(alias));
      return s == null ? null : s.leaf().chain();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      Session s = sessions.get(Integer.parseInt(alias));
      return s == null ? null : s.leaf().privateKey();
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }
}
