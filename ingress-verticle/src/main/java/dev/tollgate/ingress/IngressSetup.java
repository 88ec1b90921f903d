package dev.tollgate.ingress;

import dev.tollgate.common.NodeConfig;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.buffer.Buffer;

/**
 * What every ingress verticle instance shares, built once by the node.
 *
 * @param config the node's validated config
 * @param registry the node's tunnel registry
 * @param self this node's own listener addresses (loop detection)
 * @param tlsCertPem certificate chain for the HTTPS proxy listener, or null without one
 * @param tlsKeyPem its private key
 */
public record IngressSetup(
    NodeConfig config, TunnelRegistry registry, SelfAddresses self, Buffer tlsCertPem, Buffer tlsKeyPem) {}
