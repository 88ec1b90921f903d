package dev.tollgate.ingress.terminate;

import dev.tollgate.common.TerminateConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.ServerSSLOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's terminating listeners and their certificates, shared by every ingress event loop.
 * Certificates are reloaded when their files change (polled) or on demand (SIGHUP): the new
 * material is read and checked on a worker, then handed to the listening servers with
 * {@code updateSSLOptions}, which affects new handshakes only — open connections keep theirs. A
 * file that does not load keeps the current certificates, and the reason is logged once per change.
 */
public final class Terminations {
  private static final Logger LOG = LoggerFactory.getLogger(Terminations.class);

  /** One listener: its config, the certificates in force, and how to push new ones to its server. */
  static final class Slot {
    final TerminateConfig config;
    final long handshakeTimeoutMillis;
    volatile ListenerCertificates current;
    /** The stamps of a set of files that failed to load: not retried (nor logged) until they change. */
    volatile Map<Path, FileTime> failed;
    final List<Function<ServerSSLOptions, Future<Boolean>>> servers = new CopyOnWriteArrayList<>();
    /** The reload under way, if any: polls never overlap, and a forced reload waits for it. */
    private Future<Void> inFlight = Future.succeededFuture();

    Slot(TerminateConfig config, ListenerCertificates current, long handshakeTimeoutMillis) {
      this.config = config;
      this.current = current;
      this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    }

    /** The server TLS options for {@code certs}: what the listener starts with and what a reload sends. */
    ServerSSLOptions sslOptions(ListenerCertificates certs) {
      return TlsSettings.sslOptions(handshakeTimeoutMillis)
          .setSni(true)
          .setUseAlpn(config.kind() == TerminateConfig.Kind.HTTP)
          .setKeyCertOptions(certs.keyCertOptions())
          .setTrustOptions(certs.clientTrust())
          .setClientAuth(clientAuth(config));
    }
  }

  private final Vertx vertx;
  private final List<Slot> slots;
  private long timer = -1;
  private volatile boolean closed;

  private Terminations(Vertx vertx, List<Slot> slots) {
    this.vertx = vertx;
    this.slots = slots;
  }

  /**
   * Reads every listener's certificates. Blocking: call from a worker.
   *
   * @param handshakeTimeout how long a client may take to finish its TLS handshake
   * @throws IOException naming the listener and the file that does not load
   */
  public static Terminations load(Vertx vertx, List<TerminateConfig> configs, Duration handshakeTimeout) throws IOException {
    List<Slot> slots = new ArrayList<>();
    for (TerminateConfig c : configs) {
      try {
        ListenerCertificates certs = ListenerCertificates.load(vertx, c);
        LOG.info("terminate listener {}: TLS engine {}, certificates {}", c.name(), TlsSettings.engineName(), certs.summary());
        slots.add(new Slot(c, certs, handshakeTimeout.toMillis()));
      } catch (IOException e) {
        throw new IOException("terminate listener " + c.name() + ": " + e.getMessage(), e);
      }
    }
    return new Terminations(vertx, List.copyOf(slots));
  }

  List<Slot> slots() {
    return slots;
  }

  /** The Vert.x spelling of the listener's client-auth setting. */
  static ClientAuth clientAuth(TerminateConfig config) {
    return switch (config.clientAuth()) {
      case NONE -> ClientAuth.NONE;
      case OPTIONAL -> ClientAuth.REQUEST;
      case REQUIRED -> ClientAuth.REQUIRED;
    };
  }

  /** Polls the certificate files every {@code period}; a change reloads that listener. */
  public synchronized void watch(Duration period) {
    if (!slots.isEmpty() && timer < 0 && !closed) {
      timer = vertx.setPeriodic(period.toMillis(), id -> {
        if (!closed) {
          reload(false);
        }
      });
    }
  }

  /**
   * Rereads the certificates of every listener whose files changed, or of all of them with
   * {@code force} (SIGHUP). Completes once each listener has its new certificates or kept its old
   * ones; never fails.
   */
  public Future<Void> reload(boolean force) {
    List<Future<Void>> all = new ArrayList<>();
    for (Slot slot : slots) {
      all.add(reload(slot, force));
    }
    return Future.join(all).mapEmpty();
  }

  private Future<Void> reload(Slot slot, boolean force) {
    synchronized (slot) {
      if (!slot.inFlight.isComplete()) {
        return force ? slot.inFlight.transform(ar -> reload(slot, true)) : slot.inFlight;
      }
      slot.inFlight = attempt(slot, force);
      return slot.inFlight;
    }
  }

  private Future<Void> attempt(Slot slot, boolean force) {
    String name = slot.config.name();
    return vertx
        .executeBlocking(() -> {
          Map<Path, FileTime> stamps;
          try {
            stamps = ListenerCertificates.stamps(slot.config);
          } catch (IOException e) {
            return new Attempt(null, null, e);
          }
          if (!force && (!slot.current.changedSince(stamps) || stamps.equals(slot.failed))) {
            return null;
          }
          try {
            return new Attempt(ListenerCertificates.load(vertx, slot.config), stamps, null);
          } catch (IOException e) {
            return new Attempt(null, stamps, e);
          }
        }, false)
        .compose(attempt -> {
          if (attempt == null) {
            return Future.succeededFuture();
          }
          if (attempt.error != null) {
            if (attempt.stamps == null || !attempt.stamps.equals(slot.failed)) {
              LOG.warn("terminate listener {}: keeping the current certificates: {}", name, attempt.error.getMessage());
            }
            slot.failed = attempt.stamps;
            return Future.succeededFuture();
          }
          return apply(slot, attempt.loaded).onFailure(e -> slot.failed = attempt.stamps);
        })
        .recover(e -> {
          LOG.warn("terminate listener {}: reload failed, keeping the current certificates: {}", name, e.toString());
          return Future.succeededFuture();
        });
  }

  private record Attempt(ListenerCertificates loaded, Map<Path, FileTime> stamps, IOException error) {}

  private Future<Void> apply(Slot slot, ListenerCertificates loaded) {
    if (slot.servers.isEmpty()) {
      slot.current = loaded;
      return Future.succeededFuture();
    }
    // Every event loop's server is updated: servers sharing a port delegate to their one acceptor
    // (a repeated update is harmless), and instances listening on port 0 may each hold their own.
    ServerSSLOptions options = slot.sslOptions(loaded);
    return Future.all(slot.servers.stream().map(server -> server.apply(options)).toList())
        .map(changed -> {
          slot.current = loaded;
          slot.failed = null;
          LOG.info("terminate listener {}: reloaded certificates {}", slot.config.name(), loaded.summary());
          return (Void) null;
        });
  }

  /** Stops polling. */
  public synchronized void close() {
    closed = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }
}
