package dev.tollgate.node;

import dev.tollgate.common.metrics.ProxyMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.EnumSet;
import java.util.function.Supplier;

/**
 * The node's metrics registry, scraped at {@code /metrics}: Tollgate's own ({@link ProxyMetrics}),
 * Vert.x's and the JVM's. Every meter carries the {@code node} label. Vert.x's labels are limited
 * to bounded ones (no remote or local address, no path).
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
        .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.POOL_TYPE, Label.EB_SIDE, Label.EB_FAILURE));
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
    return registry.scrape();
  }
}
