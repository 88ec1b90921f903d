package dev.tollgate.ingress.terminate;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.ProxyFailure;
import dev.tollgate.common.TerminateConfig;
import dev.tollgate.common.TerminateConfig.Backend;
import dev.tollgate.ingress.RequestTargets;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.log.AccessRecord;
import dev.tollgate.ingress.log.Exchanges;
import dev.tollgate.tunnel.HttpForwarder;
import dev.tollgate.tunnel.Target;
import dev.tollgate.tunnel.impl.HopByHop;
import io.vertx.core.MultiMap;
import dev.tollgate.common.limits.CapacityGuard;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import dev.tollgate.common.policy.ClientCertificate;
import dev.tollgate.common.policy.Decision;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyEngine;
import dev.tollgate.common.policy.PolicyRequest;
import java.security.cert.Certificate;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * A request on a terminating listener: find the route by the host it names (which must agree
 * with the TLS server name), let the policy's rules for this listener decide (by host, port,
 * method and the verified client certificate), rewrite the forwarding and identity headers, and
 * forward it to the backend; HSTS goes on every response, the proxy's own failures included.
 */
final class TerminateHandler implements Handler<HttpServerRequest> {
  static final String VIA_HEADER = "via";
  static final String HSTS_HEADER = "strict-transport-security";
  /** Request headers the forwarder drops besides the hop-by-hop ones. */
  private static final String INTERNAL_HEADER = "x-forwarded-for-tollgate";

  private final TerminateConfig config;
  private final HttpForwarder plain;
  private final HttpForwarder tls;
  final Backends backends;
  private final AccessLog accessLog;
  private final String viaToken;
  private final String hsts;
  private final String via11;
  private final String via10;
  /** Connections over the per-address cap; confined to this listener's event loop. */
  private final Set<HttpConnection> overCap = new HashSet<>();
  /**
   * The verified client of each connection that has sent a request, read once per connection
   * (h2 streams and kept-alive requests share it); confined to this listener's event loop.
   */
  private final Map<HttpConnection, Client> clients = new HashMap<>();
  private final AtomicReference<Policy> policy;
  private CapacityGuard capacity;
  private volatile boolean closeAfterResponse;

  /** A connection's client: no certificate is {@link #NONE}. */
  private record Client(ClientCertificate certificate, String header) {
    static final Client NONE = new Client(null, null);
  }

  TerminateHandler(
      TerminateConfig config,
      HttpForwarder plain,
      HttpForwarder tls,
      Backends backends,
      AccessLog accessLog,
      String nodeName,
      AtomicReference<Policy> policy) {
    this.config = config;
    this.policy = policy;
    this.plain = plain;
    this.tls = tls;
    this.backends = backends;
    this.accessLog = accessLog;
    this.viaToken = nodeName + " (tollgate)";
    this.hsts = config.hsts() == null ? null : config.hsts().headerValue();
    this.via11 = "1.1 " + nodeName + " (tollgate)";
    this.via10 = "1.0 " + nodeName + " (tollgate)";
  }

  /**
   * What the {@link Http1FastPath} needs to carry a request that passed every check.
   *
   * @param backend the (plain) backend
   * @param target its address when known, else null (looked up first)
   * @param record the access-log record, with target and decision
   */
  record Plan(Backend backend, Target target, AccessRecord record, String hsts, String via11, String via10) {
    String via(io.netty.handler.codec.http.HttpVersion version) {
      return version == io.netty.handler.codec.http.HttpVersion.HTTP_1_0 ? via10 : via11;
    }
  }

  /** Whether a drain has begun (responses close their connections). */
  boolean draining() {
    return closeAfterResponse;
  }

  /**
   * The checks of {@link #handle} for an HTTP/1.1 request the fast path may carry: when all pass
   * and the backend is plain, the request's head is rewritten for the backend (origin-form target,
   * forwarded and identity headers, {@code Host}, {@code Via}, hop-by-hop headers dropped) and its
   * plan returned. Otherwise null, with nothing changed, and
   * {@link #handle} answers it: every refusal and its access-log line stay in one place.
   */
  Plan fastPlan(io.netty.handler.codec.http.HttpRequest request, HttpConnection connection, Seen seen) {
    if (overCap.contains(connection)) {
      return null;
    }
    MultiMap headers = (MultiMap) request.headers();
    String authority = headers.get("host");
    String method = request.method().name();
    Policy inForce = policy.get();
    if (authority == null || !authority.equals(seen.authority) || !method.equals(seen.method) || inForce != seen.policy) {
      if (!settle(authority, method, inForce, connection, seen)) {
        return null;
      }
    }
    String path;
    try {
      path = path(request.uri());
    } catch (RuntimeException e) {
      return null;
    }
    for (String via : headers.getAll(VIA_HEADER)) {
      if (via.contains(viaToken)) {
        return null;
      }
    }
    AccessRecord record = new AccessRecord(seen.client, method).target(seen.targetPrefix + path).decision(seen.decision);
    HopByHop.strip(headers);
    headers.remove(INTERNAL_HEADER);
    ForwardedHeaders.apply(headers, seen.clientIp, authority, seen.forwarded, config.identityHeader(), seen.peer.header());
    headers.set("host", seen.hostHeader);
    headers.add(VIA_HEADER, via11);
    request.setUri(path);
    return new Plan(seen.backend, backends.resolved(seen.backend), record, hsts, via11, via10);
  }

  /**
   * Runs the host, route and policy checks for a connection's request naming {@code authority}
   * with {@code method}, and remembers the outcome in {@code seen}; false when any check fails.
   */
  private boolean settle(String authority, String method, Policy inForce, HttpConnection connection, Seen seen) {
    seen.authority = null;
    HostPort hostPort;
    try {
      hostPort = checkAuthority(authority);
    } catch (RuntimeException e) {
      return false;
    }
    String host = hostPort.host().toLowerCase(Locale.ROOT);
    Backend backend = TerminateConfig.lookup(config.routes(), host);
    if (backend == null || backend.tls() || misdirected(host, backend, connection.indicatedServerName())) {
      return false;
    }
    if (seen.clientIp == null) {
      var remote = connection.remoteAddress();
      if (remote == null) {
        return false;
      }
      seen.clientIp = remote.hostAddress();
      seen.client = new HostPort(seen.clientIp, remote.port()).toString();
      seen.peer = client(connection);
    }
    Decision decision = PolicyEngine.decide(PolicyRequest.terminating(method, host, hostPort.port(), config.name(), seen.peer.certificate()), inForce);
    if (!decision.allowed()) {
      return false;
    }
    seen.authority = authority;
    seen.method = method;
    seen.policy = inForce;
    seen.backend = backend;
    seen.decision = decision;
    seen.targetPrefix = "https://" + authority;
    seen.forwarded = ForwardedHeaders.forwarded(seen.clientIp, authority);
    seen.hostHeader = config.preserveHost() ? HttpForwarder.authority(hostPort.host(), hostPort.port(), 443) : HttpForwarder.authority(backend.host(), backend.port(), 80);
    return true;
  }

  /**
   * What the checks of a connection's last fast-path request settled: the next request naming the
   * same host with the same method under the same policy reuses it (kept-alive clients repeat
   * both). Confined to the connection's event loop.
   */
  static final class Seen {
    private String clientIp;
    private String client;
    private Client peer;
    private String authority;
    private String method;
    private Policy policy;
    private Backend backend;
    private Decision decision;
    private String targetPrefix;
    private String forwarded;
    private String hostHeader;
  }

  /**
   * Counts a new connection against its client address; requests on one over the node's
   * per-address cap are answered 429, as on the proxy listeners.
   */
  void opened(HttpConnection connection, CapacityGuard capacity) {
    var remote = connection.remoteAddress();
    if (remote == null) {
      return;
    }
    String ip = remote.hostAddress();
    if (!capacity.opened(ip)) {
      overCap.add(connection);
    }
    connection.closeHandler(v -> {
      overCap.remove(connection);
      clients.remove(connection);
      capacity.closed(ip);
    });
    this.capacity = capacity;
  }

  /**
   * From now on (a drain) every HTTP/1.x response carries {@code Connection: close} and closes its
   * connection once sent, as on the proxy listeners. Callable from any thread.
   */
  void closeConnectionsAfterResponses() {
    closeAfterResponse = true;
  }

  @Override
  public void handle(HttpServerRequest request) {
    request.pause();
    HttpServerResponse response = request.response();
    boolean close = closeAfterResponse && request.version() != HttpVersion.HTTP_2;
    if (hsts != null || close) {
      response.headersEndHandler(v -> {
        if (hsts != null) {
          response.headers().set("strict-transport-security", hsts);
        }
        if (close) {
          response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
        }
      });
    }
    if (close) {
      response.endHandler(v -> request.connection().close());
    }
    var remote = request.remoteAddress();
    String clientIp = remote == null ? "-" : remote.hostAddress();
    String client = remote == null ? "-" : new HostPort(clientIp, remote.port()).toString();
    AccessRecord record = new AccessRecord(client, request.method().name());
    try {
      if (overCap.contains(request.connection())) {
        throw ProxyFailure.limited("too many connections from " + clientIp + " (at most " + capacity.maxConnectionsPerClient() + ")", 1);
      }
      String authority = authority(request);
      HostPort hostPort = checkAuthority(authority);
      String host = hostPort.host().toLowerCase(Locale.ROOT);
      String path = path(request.uri());
      record.target("https://" + authority + path);
      Backend backend = route(host, request.connection().indicatedServerName());
      Client peer = config.clientAuth() == TerminateConfig.ClientAuth.NONE || !request.isSSL() ? Client.NONE : client(request.connection());
      Decision decision =
          PolicyEngine.decide(PolicyRequest.terminating(request.method().name(), host, hostPort.port(), config.name(), peer.certificate()), policy.get());
      record.decision(decision);
      if (!decision.allowed()) {
        throw ProxyFailure.denied(decision.reason());
      }
      for (String via : request.headers().getAll("via")) {
        if (via.contains(viaToken)) {
          throw ProxyFailure.denied("forwarding loop: the request already passed this proxy");
        }
      }
      ForwardedHeaders.apply(request.headers(), clientIp, authority, config.identityHeader(), peer.header());
      backends
          .resolve(backend)
          .compose(t -> (backend.tls() ? tls : plain).forward(request, t, config.preserveHost() ? hostPort : null, path, clientIp, client, null, null))
          .onSuccess(v -> accessLog.log(record, response.getStatusCode(), request.bytesRead(), response.bytesWritten()))
          .onFailure(e -> Exchanges.fail(request, record, accessLog, e));
    } catch (RuntimeException e) {
      Exchanges.fail(request, record, accessLog, e);
    }
  }

  /** The backend for {@code host}; a host this listener has no route for, or that another TLS name was negotiated for, is misdirected. */
  private Backend route(String host, String sni) {
    Backend backend = TerminateConfig.lookup(config.routes(), host);
    if (backend == null) {
      throw ProxyFailure.misdirected("no route for host " + host + " on this listener");
    }
    if (misdirected(host, backend, sni)) {
      throw ProxyFailure.misdirected("host " + host + " does not match the TLS server name " + sni);
    }
    return backend;
  }

  /** Whether the TLS server name {@code sni} routes elsewhere than {@code host} does. */
  private boolean misdirected(String host, Backend backend, String sni) {
    return sni != null && !sni.equalsIgnoreCase(host) && TerminateConfig.lookup(config.routes(), sni.toLowerCase(Locale.ROOT)) != backend;
  }

  /** {@code :authority} on h2, else {@code Host}; required. */
  private static String authority(HttpServerRequest request) {
    String text = null;
    if (request.version() == HttpVersion.HTTP_2) {
      HostAndPort a = request.authority();
      if (a != null) {
        String h = a.host().indexOf(':') >= 0 && !a.host().startsWith("[") ? "[" + a.host() + "]" : a.host();
        text = a.port() < 0 ? h : h + ":" + a.port();
      }
    } else {
      text = request.getHeader("host");
    }
    return text;
  }

  /** A request's authority, which must be present and parse as host[:port] (443 by default). */
  private static HostPort checkAuthority(String text) {
    if (text == null || text.isBlank()) {
      throw ProxyFailure.badRequest("missing Host header");
    }
    try {
      return RequestTargets.hostWithDefaultPort(text, 443);
    } catch (RuntimeException e) {
      throw ProxyFailure.badRequest("bad Host header: " + text);
    }
  }

  /** The origin-form target; an absolute-form one (allowed by RFC 9112) is cut to its path. */
  private static String path(String uri) {
    if (uri.isEmpty()) {
      return "/";
    }
    if (uri.startsWith("/")) {
      return uri;
    }
    if (uri.regionMatches(true, 0, "https://", 0, 8) || uri.regionMatches(true, 0, "http://", 0, 7)) {
      return RequestTargets.absolute(uri).pathAndQuery();
    }
    throw ProxyFailure.badRequest("unsupported request target: " + uri);
  }

  /** The connection's verified client certificate, or {@link Client#NONE} without one. */
  private Client client(HttpConnection connection) {
    if (config.clientAuth() == TerminateConfig.ClientAuth.NONE || !connection.isSsl()) {
      return Client.NONE;
    }
    Client known = clients.get(connection);
    if (known != null) {
      return known;
    }
    Client client = Client.NONE;
    try {
      List<Certificate> chain = connection.peerCertificates();
      ClientCertificate certificate = ClientCertificate.ofChain(chain);
      if (certificate != null) {
        client = new Client(certificate, ClientIdentity.of(chain));
      }
    } catch (SSLPeerUnverifiedException e) {
      // clientAuth optional and none sent
    }
    if (capacity != null) { // opened() ran, so the close handler will forget it
      clients.put(connection, client);
    }
    return client;
  }
}
