package dev.tollgate.node;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import dev.tollgate.common.HostPort;
import dev.tollgate.common.NodeConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.transport.Transport;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * A clustered Vert.x over Hazelcast: TCP-IP join to the configured members, multicast and
 * auto-detection off, bound to the configured interface only (also the event bus). Failure
 * detection is tightened (heartbeat every second, a member silent for 5 s is gone) so a killed
 * node's share is given back within seconds.
 */
final class Clustering {
  private Clustering() {}

  static Future<Vertx> start(NodeConfig config, VertxOptions options, Transport transport, VertxMetricsFactory metrics) {
    NodeConfig.Cluster cluster = config.cluster();
    options.setEventBusOptions(new EventBusOptions().setHost(cluster.listen().host()).setPort(0).setClusterPublicHost(cluster.listen().host()));
    return Vertx.builder().with(options).withTransport(transport).withMetrics(metrics).withClusterManager(new HazelcastClusterManager(hazelcast(config))).buildClustered();
  }

  static Config hazelcast(NodeConfig config) {
    NodeConfig.Cluster cluster = config.cluster();
    // The Vert.x defaults keep the __vertx.* maps' settings (backups for subscriptions).
    Config hz = ConfigUtil.loadConfig();
    hz.setClusterName("tollgate");
    hz.setInstanceName("tollgate-" + config.nodeName());
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.logging.type", "slf4j");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    hz.setProperty("hazelcast.max.no.heartbeat.seconds", "5");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false"); // the node's own hook leaves the cluster
    NetworkConfig net = hz.getNetworkConfig();
    net.setPort(cluster.listen().port()).setPortAutoIncrement(false);
    net.getInterfaces().setEnabled(true).addInterface(cluster.listen().host());
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true);
    for (HostPort member : cluster.members()) {
      join.getTcpIpConfig().addMember(member.toString());
    }
    if (cluster.members().isEmpty()) {
      join.getTcpIpConfig().addMember(cluster.listen().toString());
    }
    return hz;
  }
}
