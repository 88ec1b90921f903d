package dev.tollgate.node;

import dev.tollgate.common.metrics.ProxyMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.EnumSet;
import java.util.function.Supplier;

/**
 * The node's metrics registry, scraped at {@code /metrics}: Tollgate's own ({@link ProxyMetrics}),
 * Vert.x's and the JVM's. Every meter carries the {@code node} label. Vert.x's metrics of the data
 * path (TCP and HTTP servers and clients, which count every buffer) and of pools are off: they cost
 * the proxy's hot path (a 2-core bench lost a fifth of its CONNECT set-up rate with them on), and
 * Tollgate's own counters cover what an operator needs there. The event bus and verticles keep
 * theirs; labels are bounded ones only.
 */
final class NodeMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ProxyMetrics proxy;

  NodeMetrics(String node) {
    registry.config().commonTags("node", node);
    proxy = new ProxyMetrics(registry);
  }

  MicrometerMetricsOptions vertxOptions() {
    return new MicrometerMetricsOptions()
        .setEnabled(true)
        .setJvmMetricsEnabled(true)
        .setLabels(EnumSet.of(Label.EB_SIDE, Label.EB_FAILURE))
        .addDisabledMetricsCategory(MetricsDomain.NET_SERVER)
        .addDisabledMetricsCategory(MetricsDomain.NET_CLIENT)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)
        .addDisabledMetricsCategory(MetricsDomain.DATAGRAM_SOCKET)
        .addDisabledMetricsCategory(MetricsDomain.NAMED_POOLS);
  }

  VertxMetricsFactory vertxFactory() {
    return new MicrometerMetricsFactory(registry);
  }

  ProxyMetrics proxy() {
    return proxy;
  }

  /** The gauges read from the running node. */
  void nodeGauges(Supplier<Number> tunnels, Supplier<Number> policyVersion, Supplier<Number> ready, Supplier<Number> members) {
    proxy.gauge("tollgate.tunnels.active", "tunnels open on this node", tunnels);
    proxy.gauge("tollgate.policy.version", "the policy version this node runs", policyVersion);
    proxy.gauge("tollgate.node.ready", "1 while the node serves (0 starting or draining)", ready);
    proxy.gauge("tollgate.cluster.members", "cluster members this node sees (1 alone)", members);
  }

  String scrape() {
    proxy.refreshUserUsage();
    return registry.scrape();
  }
}
