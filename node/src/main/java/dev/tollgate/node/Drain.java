package dev.tollgate.node;

import dev.tollgate.common.Durations;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.ingress.IngressVerticle;
import dev.tollgate.tunnel.TunnelRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's drain, run once: HTTP/1.x responses close their connections at once; the listeners go
 * on accepting for the drain delay, so that load balancers take the node out of rotation before it
 * stops accepting (a connection handed over as a listener closes would get no answer, and a TCP
 * balancer cannot retry it once it has sent the request); then they stop accepting, requests in
 * flight finish, open tunnels get the drain timeout to finish and are then closed, and the node
 * leaves the cluster's member list.
 */
final class Drain {
  private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

  private final Vertx vertx;
  private final NodeConfig config;
  private final List<IngressVerticle> ingress;
  private final TunnelRegistry registry;
  private final Supplier<Future<Void>> leave;
  private final AtomicBoolean started = new AtomicBoolean();
  private final Promise<Void> done = Promise.promise();

  /** @param leave leaves the cluster's member list (the last step) */
  Drain(Vertx vertx, NodeConfig config, List<IngressVerticle> ingress, TunnelRegistry registry, Supplier<Future<Void>> leave) {
    this.vertx = vertx;
    this.config = config;
    this.ingress = ingress;
    this.registry = registry;
    this.leave = leave;
  }

  /** Starts the drain (once; later calls return the same future), running {@code first} before anything else. */
  Future<Void> start(Runnable first) {
    if (!started.compareAndSet(false, true)) {
      return done.future();
    }
    first.run();
    ingress.forEach(IngressVerticle::closeConnectionsAfterResponses);
    Duration delay = config.drainDelay();
    LOG.info("draining: /readyz 503; the listeners accept for {} more, for load balancers to take the node out", Durations.format(delay));
    Promise<Void> delayed = Promise.promise();
    if (delay.isZero()) {
      delayed.complete();
    } else {
      vertx.setTimer(delay.toMillis(), t -> delayed.complete());
    }
    delayed.future()
        .compose(v -> stopAccepting())
        .compose(v -> leave.get())
        .onComplete(ar -> {
          LOG.info("drained");
          done.tryComplete();
        });
    return done.future();
  }

  /** Whether a drain was started. */
  boolean started() {
    return started.get();
  }

  /** Completes once a drain has finished. */
  Future<Void> done() {
    return done.future();
  }

  /** Stops the listeners (requests in flight finish) and gives open tunnels the drain timeout. */
  private Future<Void> stopAccepting() {
    Duration timeout = config.drainTimeout();
    LOG.info("draining: no new connections; {} open tunnel(s) get {} to finish", registry.size(), Durations.format(timeout));
    long deadline = System.nanoTime() + timeout.toNanos();
    List<Future<Void>> listeners = ingress.stream().map(v -> v.stopAccepting(timeout)).toList();
    Promise<Void> tunnelsDone = Promise.promise();
    waitForTunnels(deadline, tunnelsDone);
    return Future.join(listeners).transform(ar -> tunnelsDone.future());
  }

  private void waitForTunnels(long deadline, Promise<Void> tunnelsDone) {
    if (registry.size() == 0) {
      tunnelsDone.tryComplete();
    } else if (System.nanoTime() - deadline >= 0) {
      LOG.info("drain timeout: closing {} tunnel(s)", registry.size());
      registry.closeAll("node drained");
      tunnelsDone.tryComplete();
    } else {
      vertx.setTimer(100, t -> waitForTunnels(deadline, tunnelsDone));
    }
  }
}
