package dev.tollgate.common;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The validated configuration of one node. Built only through {@link #fromJson(JsonObject)}, which
 * names the offending key when a value does not validate; {@link #toJson()} reads back the same.
 *
 * @param proxyListen the plain proxy listener (HTTP/1.1 and h2c)
 * @param proxyTlsListen the HTTPS proxy listener, or {@code null} when there is none
 * @param proxyTlsCert PEM certificate chain of the TLS listener; {@code null} makes the node generate one
 * @param proxyTlsKey PEM private key matching {@code proxyTlsCert}
 * @param xForwardedFor whether forwarded requests reveal the client address upstream
 * @param maxHeaderSize largest request head accepted (431 above)
 * @param maxUriLength longest request line accepted (414 above)
 * @param controlListen the control API listener
 * @param controlToken the bearer token of the control API's {@code /v1}, or null to take it from
 *     {@code TOLLGATE_CONTROL_TOKEN} or the data dir (generated there when absent)
 * @param nodeName this node's name in logs, {@code Via} and listings
 * @param dataDir where the node keeps its state (generated certificates, tokens, policy)
 * @param allowPrivate networks exempt from the private-address refusal
 * @param connectPorts ports a CONNECT may reach
 * @param timeouts connect, idle, lifetime and header-read timeouts
 * @param policySeed a policy JSON file that seeds the policy store when it is empty, or null
 * @param accessLogFile where access-log lines go, or null for standard output
 * @param accessLogFormat {@code json} or {@code squid}
 * @param cluster whether and how this node joins a cluster
 * @param capacity per-node and per-client caps and the memory guard
 * @param ca the interception CA: loaded from files, or generated once (per cluster) into the data dir
 * @param drainTimeout how long open tunnels may run on once a drain has stopped the listeners
 * @param drainDelay how long the proxy listeners keep accepting after a drain has turned
 *     {@code /readyz} 503, so that a load balancer's health checks take the node out of rotation
 *     before it stops accepting (a connection the balancer hands over as the listener closes gets
 *     no answer, and a TCP balancer cannot retry it)
 * @param upstreams per-upstream dialing and TLS settings ({@code upstreams:}), in config order
 * @param terminate the TLS-terminating listeners (empty: none)
 * @param metricsUserLabels whether {@code /metrics} also carries per-user quota usage (a {@code user} label; off by default)
 */
public record NodeConfig(
    HostPort proxyListen,
    HostPort proxyTlsListen,
    Path proxyTlsCert,
    Path proxyTlsKey,
    boolean xForwardedFor,
    int maxHeaderSize,
    int maxUriLength,
    HostPort controlListen,
    String controlToken,
    String nodeName,
    Path dataDir,
    List<Cidr> allowPrivate,
    Set<Integer> connectPorts,
    Timeouts timeouts,
    Path policySeed,
    Path accessLogFile,
    String accessLogFormat,
    Cluster cluster,
    Ca ca,
    Capacity capacity,
    Duration drainTimeout,
    Duration drainDelay,
    List<UpstreamConfig> upstreams,
    List<TerminateConfig> terminate,
    boolean metricsUserLabels) {

  public static final String DEFAULT_PROXY_LISTEN = "127.0.0.1:3128";
  public static final String DEFAULT_CONTROL_LISTEN = "127.0.0.1:9090";
  public static final String DEFAULT_DATA_DIR = "./data";
  public static final int DEFAULT_MAX_HEADER_SIZE = 32 * 1024;
  public static final int DEFAULT_MAX_URI_LENGTH = 8 * 1024;
  public static final int MIN_CONTROL_TOKEN_LENGTH = 16;
  public static final List<Integer> DEFAULT_CONNECT_PORTS = List.of(443);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_DRAIN_DELAY = Duration.ZERO;

  /**
   * What keeps one node and one client from exhausting the proxy.
   *
   * @param maxTunnelsPerNode tunnels this node holds at most (503 above; 0 = no cap)
   * @param maxConnectionsPerClientAddress client connections one IP may hold open (429 above; 0 = no cap)
   * @param memoryGuard the share of the maximum heap, in use after the last collection, above which
   *     new tunnels are refused (503) before memory runs out for the open ones
   */
  public record Capacity(int maxTunnelsPerNode, int maxConnectionsPerClientAddress, double memoryGuard) {
    public static final double DEFAULT_MEMORY_GUARD = 0.9;

    JsonObject toJson() {
      return new JsonObject()
          .put("maxTunnelsPerNode", maxTunnelsPerNode)
          .put("maxConnectionsPerClientAddress", maxConnectionsPerClientAddress)
          .put("memoryGuard", memoryGuard);
    }
  }

  /**
   * The root CA that interception mints leaf certificates from.
   *
   * @param cert a PEM CA certificate to use, or null to generate one ({@code ca.pem} in the data dir)
   * @param key its PEM private key
   * @param keyAlgorithm {@code ec} (P-256) or {@code rsa} (2048) for a generated CA
   * @param permittedDomains when not empty, a generated CA may only vouch for these domains (nameConstraints)
   * @param upstreamTrust PEM CA files trusted for intercepted upstreams, besides the JVM's trust store
   * @param learnPassthrough whether hosts whose clients keep rejecting the certificate stop being intercepted
   * @param rewriteMaxBody the largest response body (as received, and once decoded) that rewrite
   *     rules change; larger bodies pass unmodified
   */
  public record Ca(
      Path cert, Path key, String keyAlgorithm, List<String> permittedDomains, List<Path> upstreamTrust, boolean learnPassthrough, int rewriteMaxBody) {
    public static final int DEFAULT_REWRITE_MAX_BODY = 8 * 1024 * 1024;
    public static final int MAX_REWRITE_MAX_BODY = 256 * 1024 * 1024;

    public Ca {
      permittedDomains = List.copyOf(permittedDomains);
      upstreamTrust = List.copyOf(upstreamTrust);
    }

    JsonObject toJson() {
      JsonObject o = new JsonObject().put("keyAlgorithm", keyAlgorithm).put("permittedDomains", new JsonArray(permittedDomains));
      if (cert != null) {
        o.put("cert", cert.toString()).put("key", key.toString());
      }
      return o;
    }
  }

  /**
   * Cluster membership. Without {@code enabled} no Hazelcast is started at all.
   *
   * @param enabled whether the node joins a cluster
   * @param listen the interface and port Hazelcast binds (only that interface)
   * @param members the members to join by TCP-IP (multicast is never used); may include this node
   */
  public record Cluster(boolean enabled, HostPort listen, List<HostPort> members) {
    public static final String DEFAULT_LISTEN = "127.0.0.1:5701";

    public Cluster {
      members = List.copyOf(members);
    }

    JsonObject toJson() {
      return new JsonObject()
          .put("enabled", enabled)
          .put("listen", listen.toString())
          .put("members", new JsonArray(members.stream().map(HostPort::toString).toList()));
    }
  }

  /**
   * Every timeout of the data path.
   *
   * @param connect upstream connect (504 after it)
   * @param idle a tunnel, or a kept-alive client connection, with no byte either way for this long is closed
   * @param maxLifetime a tunnel is closed this long after it opened, whatever it does
   * @param header a client must finish its request head within this (408 after it)
   */
  public record Timeouts(Duration connect, Duration idle, Duration maxLifetime, Duration header) {
    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_IDLE = Duration.ofMinutes(5);
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofHours(1);
    public static final Duration DEFAULT_HEADER = Duration.ofSeconds(30);

    public static Timeouts defaults() {
      return new Timeouts(DEFAULT_CONNECT, DEFAULT_IDLE, DEFAULT_MAX_LIFETIME, DEFAULT_HEADER);
    }
  }

  public NodeConfig {
    allowPrivate = List.copyOf(allowPrivate);
    connectPorts = Set.copyOf(connectPorts);
    upstreams = List.copyOf(upstreams);
    terminate = List.copyOf(terminate);
  }

  /** The embedded defaults: what {@code ./tollgate} with no options runs. */
  public static NodeConfig defaults() {
    return fromJson(new JsonObject());
  }

  /** Validates {@code json} (the YAML keys of the README) into a config. */
  public static NodeConfig fromJson(JsonObject json) {
    return new ConfigReader(json).read();
  }

  /** Whether the HTTPS proxy listener is configured. */
  public boolean hasTlsListener() {
    return proxyTlsListen != null;
  }

  private JsonObject control() {
    JsonObject control = new JsonObject().put("listen", controlListen.toString());
    if (controlToken != null) {
      control.put("token", controlToken);
    }
    return control;
  }

  /** The same config as JSON, in the shape {@link #fromJson} reads. */
  public JsonObject toJson() {
    JsonObject tls = new JsonObject();
    if (proxyTlsListen != null) tls.put("listen", proxyTlsListen.toString());
    if (proxyTlsCert != null) tls.put("cert", proxyTlsCert.toString());
    if (proxyTlsKey != null) tls.put("key", proxyTlsKey.toString());
    JsonObject root = new JsonObject();
    if (policySeed != null) {
      root.put("policy", policySeed.toString());
    }
    JsonObject accessLog = new JsonObject().put("format", accessLogFormat);
    if (accessLogFile != null) {
      accessLog.put("file", accessLogFile.toString());
    }
    root.put("accessLog", accessLog);
    if (!upstreams.isEmpty()) {
      JsonObject u = new JsonObject();
      upstreams.forEach(e -> u.put(e.key(), e.toJson()));
      root.put("upstreams", u);
    }
    if (!terminate.isEmpty()) {
      root.put("terminate", new JsonArray(terminate.stream().map(TerminateConfig::toJson).toList()));
    }
    if (metricsUserLabels) {
      root.put("metrics", new JsonObject().put("userLabels", true));
    }
    JsonObject proxy =
        new JsonObject()
            .put("listen", proxyListen.toString())
            .put("xForwardedFor", xForwardedFor)
            .put("maxHeaderSize", maxHeaderSize)
            .put("maxUriLength", maxUriLength);
    if (!tls.isEmpty()) proxy.put("tls", tls);
    return root
        .put("proxy", proxy)
        .put("control", control())
        .put("cluster", cluster.toJson())
        .put("limits", capacity.toJson())
        .put("mitm", new JsonObject().put("ca", ca.toJson()).put("upstreamTrust", new JsonArray(ca.upstreamTrust().stream().map(Path::toString).toList())).put("learnPassthrough", ca.learnPassthrough()).put("rewriteMaxBody", ca.rewriteMaxBody()))
        .put("node", new JsonObject().put("name", nodeName).put("dataDir", dataDir.toString()).put("drainTimeout", Durations.format(drainTimeout)).put("drainDelay", Durations.format(drainDelay)))
        .put(
            "network",
            new JsonObject()
                .put("allowPrivate", new JsonArray(allowPrivate.stream().map(Cidr::toString).toList()))
                .put("connectPorts", new JsonArray(connectPorts.stream().sorted().toList())))
        .put(
            "timeouts",
            new JsonObject()
                .put("connect", Durations.format(timeouts.connect()))
                .put("idle", Durations.format(timeouts.idle()))
                .put("maxLifetime", Durations.format(timeouts.maxLifetime()))
                .put("header", Durations.format(timeouts.header())));
  }
}
