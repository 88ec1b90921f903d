package dev.tollgate.node;

import dev.tollgate.common.ConfigException;
import dev.tollgate.common.NodeConfig;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** {@code ./tollgate}: parses the command line, starts a node, and stops it cleanly on SIGTERM/SIGINT. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    PrintStream out = System.out;
    NodeConfig config;
    try {
      Cli cli = Cli.parse(args);
      if (cli.help) {
        out.print(Cli.USAGE);
        return;
      }
      config = cli.config();
    } catch (ConfigException e) {
      System.err.println("tollgate: invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    Node node;
    try {
      node = Node.start(config).toCompletionStage().toCompletableFuture().join();
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      log.error("tollgate failed to start: {}", cause.toString());
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runnable shutdown =
        () -> {
          log.info("shutting down: closing listeners and tunnels");
          node.stop().onComplete(ar -> stopped.countDown());
        };
    Signal.handle(new Signal("TERM"), s -> shutdown.run());
    Signal.handle(new Signal("INT"), s -> shutdown.run());
    stopped.await();
    log.info("stopped");
    System.exit(0);
  }
}
