package dev.tollgate.node;

import dev.tollgate.common.HostPort;
import dev.tollgate.common.IpLiterals;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.common.limits.CapacityGuard;
import dev.tollgate.common.limits.UserLimiter;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.TimeoutsInForce;
import dev.tollgate.control.ControlSetup;
import dev.tollgate.control.ControlVerticle;
import dev.tollgate.mitm.MitmVerticle;
import dev.tollgate.control.PolicyStore;
import dev.tollgate.ingress.auth.ProxyAuthenticator;
import dev.tollgate.ingress.log.AccessLog;
import dev.tollgate.ingress.IngressSetup;
import dev.tollgate.ingress.IngressVerticle;
import dev.tollgate.ingress.SelfAddresses;
import dev.tollgate.ingress.terminate.Terminations;
import dev.tollgate.tunnel.TunnelRegistry;
import dev.tollgate.tunnel.TunnelVerticle;
import dev.tollgate.tunnel.UpstreamTls;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.transport.Transport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One running node: its Vert.x instance, verticles and bound ports. */
public final class Node {
  private static final Logger LOG = LoggerFactory.getLogger(Node.class);

  private final Vertx vertx;
  private final NodeConfig config;
  private final TunnelRegistry registry;
  private final AtomicBoolean ready = new AtomicBoolean();
  private final List<IngressVerticle> ingress = new CopyOnWriteArrayList<>();
  private ControlVerticle control;
  private MitmVerticle mitm;
  private ControlToken token;
  private PolicyStore policyStore;
  private AccessLog accessLog;
  private Terminations terminations;
  private final AtomicReference<Policy> policy = new AtomicReference<>(Policy.empty());
  private final UserLimiter limiter = new UserLimiter();
  private final CapacityGuard capacity;
  private final NodeMetrics metrics;
  private final String transport;
  private final Drain drain;
  private volatile Instant startedAt;
  private int proxyPort;
  private int proxyTlsPort = -1;

  private Node(Vertx vertx, NodeConfig config, NodeMetrics metrics, String transport) {
    this.metrics = metrics;
    this.transport = transport;
    this.vertx = vertx;
    this.config = config;
    this.registry = new TunnelRegistry(config.nodeName());
    this.capacity = new CapacityGuard(config.capacity(), registry::size);
    this.drain = new Drain(vertx, config, ingress, registry, () -> control.leave());
  }

  /** Starts a node on a new Vert.x instance with one ingress verticle per core. */
  public static Future<Node> start(NodeConfig config) {
    return start(config, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Starts a node with {@code ingressInstances} ingress verticles (tests use one); clustered
   * through Hazelcast when the config enables it, else with no Hazelcast at all.
   */
  public static Future<Node> start(NodeConfig config, int ingressInstances) {
    Transport transport;
    try {
      transport = NetworkTransport.chosen();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    NodeMetrics metrics = new NodeMetrics(config.nodeName());
    VertxOptions options = new VertxOptions().setMetricsOptions(metrics.vertxOptions());
    Future<Vertx> built =
        config.cluster().enabled()
            ? Clustering.start(config, options, transport, metrics.vertxFactory())
            : Future.succeededFuture(Vertx.builder().with(options).withTransport(transport).withMetrics(metrics.vertxFactory()).build());
    return built.compose(vertx -> {
      Node node = new Node(vertx, config, metrics, transport.name());
      // On failure, close Vert.x without waiting on it: a continuation would land on a stopped loop.
      return node.deploy(ingressInstances).recover(e -> {
        vertx.close();
        return Future.failedFuture(e);
      });
    });
  }

  private Future<Node> deploy(int instances) {
    return vertx
        .executeBlocking(this::prepare)
        .compose(setup -> {
          control =
              new ControlVerticle(
                  new ControlSetup(
                      config.controlListen(),
                      token.value(),
                      config.nodeName(),
                      config.cluster().enabled(),
                      ready,
                      this::status,
                      policyStore,
                      policy,
                      setup.limiter(),
                      registry,
                      this::drain,
                      metrics::scrape,
                      config.dataDir()));
          return CaSetup.resolve(vertx, config)
              .compose(ca -> {
                mitm = new MitmVerticle(ca, config.ca().learnPassthrough());
                return vertx.deployVerticle(mitm);
              })
              .compose(id -> vertx.deployVerticle(new TunnelVerticle(config.nodeName(), registry, new TimeoutsInForce(config.timeouts(), policy), policy)))
              .compose(id -> vertx.deployVerticle(control))
              .compose(id -> vertx.deployVerticle(() -> {
                    IngressVerticle v = new IngressVerticle(setup);
                    ingress.add(v);
                    return v;
                  }, new DeploymentOptions().setInstances(instances)))
              .map(id -> {
                List<Integer> ports = ingress.get(0).boundPorts();
                proxyPort = ports.get(0);
                if (config.hasTlsListener()) {
                  proxyTlsPort = ports.get(1);
                }
                setup.self().listeners(bound());
                // How often the certificate files are checked for changes; tests shorten it.
                terminations.watch(Duration.ofMillis(Long.getLong("tollgate.certificatePollMillis", 5000)));
                startedAt = Instant.now();
                metrics.nodeGauges(registry::size, () -> policy.get().version(), () -> ready.get() ? 1 : 0, control::memberCount);
                metrics.proxy().certificates(() -> mitm.leaves().mints(), () -> mitm.leaves().hits());
                metrics.proxy().certificateRejections(() -> mitm.passthrough().rejectedTotal());
                metrics.proxy().quotas(limiter.quotas());
                if (config.metricsUserLabels()) {
                  metrics.proxy().quotaUserLabels(limiter.quotas());
                }
                vertx.eventBus().localConsumer(dev.tollgate.common.Addresses.POLICY_APPLIED, m -> applyCaps());
                ready.set(true);
                LOG.info("tollgate ready: {}", describe());
                return this;
              });
        });
  }

  /** The policy's node-wide caps, when it sets them, replace the config's. */
  private void applyCaps() {
    var limits = policy.get().limits();
    capacity.policyCaps(limits.maxTunnelsPerNode(), limits.maxConnectionsPerClientAddress());
  }

  /** Blocking preparation, on a worker: data dir, TLS material, local addresses. */
  private IngressSetup prepare() throws IOException {
    Files.createDirectories(config.dataDir());
    token = ControlToken.resolve(config);
    policyStore = PolicyStore.open(config.dataDir().resolve("policy"), config.policySeed());
    policy.set(policyStore.current().policy());
    applyCaps();
    accessLog =
        new AccessLog(
            config.nodeName(),
            AccessLog.Format.valueOf(config.accessLogFormat().toUpperCase(java.util.Locale.ROOT)),
            config.accessLogFile(),
            metrics.proxy());
    terminations = Terminations.load(vertx, config.terminate(), config.timeouts().header());
    Buffer cert = null;
    Buffer key = null;
    if (config.hasTlsListener()) {
      TlsMaterial.Pem pem = TlsMaterial.load(config);
      cert = Buffer.buffer(pem.cert());
      key = Buffer.buffer(pem.key());
    }
    return new IngressSetup(
        config, registry, new SelfAddresses(localAddresses()), cert, key, policy, new ProxyAuthenticator(vertx, metrics.proxy()), limiter, accessLog,
        () -> mitm.leaves(), UpstreamTls.load(vertx, config.ca().upstreamTrust(), config.upstreams()), capacity, () -> mitm.passthrough(), terminations);
  }

  private List<SelfAddresses.Bound> bound() {
    List<SelfAddresses.Bound> out = new ArrayList<>();
    out.add(new SelfAddresses.Bound(bindAddress(config.proxyListen()), proxyPort));
    if (config.hasTlsListener()) {
      out.add(new SelfAddresses.Bound(bindAddress(config.proxyTlsListen()), proxyTlsPort));
    }
    return out;
  }

  private static InetAddress bindAddress(HostPort listen) {
    InetAddress literal = IpLiterals.parse(listen.host());
    if (literal != null) {
      return literal;
    }
    return InetAddress.getLoopbackAddress(); // a name such as localhost: loopback is what it binds here
  }

  private static Set<InetAddress> localAddresses() throws SocketException {
    Set<InetAddress> out = new HashSet<>();
    for (NetworkInterface nif : NetworkInterface.networkInterfaces().toList()) {
      nif.inetAddresses().forEach(out::add);
    }
    return out;
  }

  private String describe() {
    StringBuilder s = new StringBuilder();
    s.append("node=").append(config.nodeName());
    s.append(" proxy=http://").append(hostPort(config.proxyListen().host(), proxyPort));
    if (config.hasTlsListener()) {
      s.append(" proxy-tls=https://").append(hostPort(config.proxyTlsListen().host(), proxyTlsPort));
    }
    for (var t : config.terminate()) {
      s.append(" terminate=").append(t.name()).append("@https://").append(hostPort(t.listen().host(), terminatePort(t.name())));
    }
    s.append(" control=http://").append(hostPort(config.controlListen().host(), control.actualPort()));
    s.append(" control-token=").append(token.source());
    s.append(" policy=v").append(policyStore.current().version());
    s.append(" data=").append(config.dataDir());
    if (config.cluster().enabled()) {
      s.append(" cluster=").append(config.cluster().listen());
    }
    s.append(" transport=").append(transport);
    return s.toString();
  }

  private static String hostPort(String host, int port) {
    return new HostPort(host, port).toString();
  }

  /** This node's status, as {@code /v1/cluster} lists it. */
  private JsonObject status() {
    Instant started = startedAt;
    String state =
        drain.started()
            ? (drain.done().isComplete() ? "drained" : "draining")
            : !ready.get() ? "starting" : capacity.full() ? "full" : "ready";
    JsonObject s = new JsonObject()
        .put("name", config.nodeName())
        .put("proxy", hostPort(config.proxyListen().host(), proxyPort))
        .put("control", control == null ? null : hostPort(config.controlListen().host(), control.actualPort()))
        .put("state", state)
        .put("policyVersion", policy.get().version())
        .put("tunnels", registry.size());
    if (config.cluster().enabled()) {
      s.put("cluster", config.cluster().listen().toString());
    }
    if (started != null) {
      s.put("startedAt", started.toString()).put("uptimeSeconds", Duration.between(started, Instant.now()).toSeconds());
    }
    return s;
  }

  /**
   * Drains the node (once; later calls return the same future): {@code /readyz} turns 503 at once,
   * then the steps of {@link Drain}. Completes when all of them are done.
   */
  public Future<Void> drain() {
    return drain.start(() -> ready.set(false));
  }

  /** Completes once a drain has finished. */
  public Future<Void> drained() {
    return drain.done();
  }

  /** Stops accepting, closes tunnels (the tunnel verticle's stop) and listeners, and closes Vert.x (leaving the cluster). */
  public Future<Void> stop() {
    ready.set(false);
    if (terminations != null) {
      terminations.close(); // no certificate poll may run into the closing worker pool
    }
    return vertx.close().andThen(ar -> {
      try {
        if (accessLog != null) {
          accessLog.close();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  public Vertx vertx() {
    return vertx;
  }

  public NodeConfig config() {
    return config;
  }

  /** The policy in force. */
  public Policy policy() {
    return policy.get();
  }

  public TunnelRegistry registry() {
    return registry;
  }

  public int proxyPort() {
    return proxyPort;
  }

  /** The network transport this node's event loops run on: io_uring, epoll or nio. */
  public String transport() {
    return transport;
  }

  public int proxyTlsPort() {
    return proxyTlsPort;
  }

  /** The control API's bearer token. */
  public String controlToken() {
    return token.value();
  }

  /** The interception verticle: its CA and leaf cache. */
  public MitmVerticle mitm() {
    return mitm;
  }

  /** The TLS port of the terminating listener {@code name} (useful with port 0 in tests). */
  public int terminatePort(String name) {
    return ingress.get(0).terminatePorts().get(name);
  }

  /** Requests the terminating listeners' HTTP/1.1 fast path has carried (diagnostics and tests). */
  public long terminateFastPathExchanges() {
    return ingress.stream().mapToLong(IngressVerticle::terminateFastPathExchanges).sum();
  }

  /** The plain redirect port of the terminating listener {@code name}. */
  public int redirectPort(String name) {
    return ingress.get(0).redirectPorts().get(name);
  }

  /**
   * Rereads every terminating listener's certificates now (SIGHUP); a file that does not load
   * keeps the current ones. Never fails.
   */
  public Future<Void> reloadCertificates() {
    return terminations == null ? Future.succeededFuture() : terminations.reload(true);
  }

  public int controlPort() {
    return control.actualPort();
  }
}
