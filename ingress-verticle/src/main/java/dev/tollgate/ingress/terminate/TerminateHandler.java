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
  private final TerminateConfig config;
  private final HttpForwarder plain;
  private final HttpForwarder tls;
  private final Backends backends;
  private final AccessLog accessLog;
  private final String viaToken;
  private final String hsts;
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
      HostPort hostPort = RequestTargets.hostWithDefaultPort(authority, 443);
      String host = hostPort.host().toLowerCase(Locale.ROOT);
      String path = path(request);
      record.target("https://" + authority + path);
      Backend backend = route(host, request.connection().indicatedServerName());
      Client peer = client(request);
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
    if (sni != null && !sni.equalsIgnoreCase(host) && TerminateConfig.lookup(config.routes(), sni.toLowerCase(Locale.ROOT)) != backend) {
      throw ProxyFailure.misdirected("host " + host + " does not match the TLS server name " + sni);
    }
    return backend;
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
    if (text == null || text.isBlank()) {
      throw ProxyFailure.badRequest("missing Host header");
    }
    try {
      RequestTargets.hostWithDefaultPort(text, 443);
    } catch (RuntimeException e) {
      throw ProxyFailure.badRequest("bad Host header: " + text);
    }
    return text;
  }

  /** The origin-form target; an absolute-form one (allowed by RFC 9112) is cut to its path. */
  private static String path(HttpServerRequest request) {
    String uri = request.uri();
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
  private Client client(HttpServerRequest request) {
    if (config.clientAuth() == TerminateConfig.ClientAuth.NONE || !request.isSSL()) {
      return Client.NONE;
    }
    HttpConnection connection = request.connection();
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
