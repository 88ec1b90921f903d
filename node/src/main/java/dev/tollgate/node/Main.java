package dev.tollgate.node;

import dev.tollgate.common.ConfigException;
import dev.tollgate.common.NodeConfig;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code ./tollgate}: parses the command line, starts a node, and stops it cleanly (exit 0) on SIGTERM/SIGINT. */
public final class Main {
  /** What the shutdown may take beyond the drain delay and timeout (closing Vert.x, leaving the cluster). */
  private static final long STOP_MARGIN_SECONDS = 20;

  private Main() {}

  /** {@code tollgate ca export [options]}: prints the node's interception CA certificate (PEM), creating it when absent. */
  private static int exportCa(String[] args, PrintStream out) {
    // Log lines (a CA created on the way) go to stderr, so that `ca export > ca.pem` holds only the PEM.
    System.setOut(System.err);
    try {
      out.print(CaSetup.local(Cli.parse(args).config()).certificatePem());
      out.flush();
      return 0;
    } catch (ConfigException e) {
      System.err.println("tollgate: invalid configuration: " + e.getMessage());
      return 2;
    } catch (Exception e) {
      System.err.println("tollgate: cannot export the CA: " + e.getMessage());
      return 1;
    }
  }

  /**
   * SIGHUP rereads the terminating listeners' certificates (as nginx and HAProxy do). Only with
   * such listeners: otherwise SIGHUP keeps the JVM's meaning, an orderly stop.
   */
  private static void reloadOnHangup(Hangup hangup, Logger log) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> hangup.signalled(log));
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.info("no SIGHUP on this platform ({}); certificates are still reloaded when their files change", e.getMessage());
    }
  }

  /** SIGHUP's target: a signal that arrives while the node starts is kept until it is up. */
  private static final class Hangup {
    private Node node;
    private boolean pending;

    synchronized void signalled(Logger log) {
      log.info("SIGHUP: rereading the terminating listeners' certificates");
      if (node == null) {
        pending = true;
      } else {
        node.reloadCertificates();
      }
    }

    synchronized void started(Node started) {
      node = started;
      if (pending) {
        pending = false;
        node.reloadCertificates();
      }
    }
  }

  public static void main(String[] args) {
    PrintStream out = System.out;
    if (args.length > 0 && args[0].equals("hash-password")) {
      System.exit(HashPassword.run(System.in, out, System.err));
      return;
    }
    if (args.length > 1 && args[0].equals("ca") && args[1].equals("export")) {
      System.exit(exportCa(java.util.Arrays.copyOfRange(args, 2, args.length), out));
      return;
    }
    NodeConfig config;
    try {
      Cli cli = Cli.parse(args);
      if (cli.help) {
        out.print(Cli.USAGE);
        return;
      }
      config = cli.config();
      NetworkTransport.chosen();
    } catch (ConfigException | IllegalArgumentException e) {
      System.err.println("tollgate: invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    // Installed before the start, so that a SIGHUP right after the ready line cannot end the JVM.
    Hangup hangup = new Hangup();
    if (!config.terminate().isEmpty()) {
      reloadOnHangup(hangup, log);
    }
    Node node;
    try {
      node = Node.start(config).toCompletionStage().toCompletableFuture().join();
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      log.error("tollgate failed to start: {}", cause.toString());
      System.exit(1);
      return;
    }
    hangup.started(node);
    // A drain asked for through the API ends the process too, by the same orderly way as SIGTERM.
    node.drained().onSuccess(v -> new Thread(() -> System.exit(0), "tollgate-exit").start());
    // SIGTERM and SIGINT run shutdown hooks; this one drains the node, stops it and then ends the
    // JVM with status 0, the answer to an orderly stop (the JVM's own would be 128+signal).
    long limit = config.drainDelay().toSeconds() + config.drainTimeout().toSeconds() + STOP_MARGIN_SECONDS;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("shutting down: draining, then closing listeners and tunnels");
                  try {
                    node.drain().compose(v -> node.stop()).toCompletionStage().toCompletableFuture().get(limit, TimeUnit.SECONDS);
                    log.info("stopped");
                    Runtime.getRuntime().halt(0);
                  } catch (Exception e) {
                    log.error("shutdown did not complete cleanly: {}", e.toString());
                    Runtime.getRuntime().halt(1);
                  }
                },
                "tollgate-shutdown"));
  }
}
