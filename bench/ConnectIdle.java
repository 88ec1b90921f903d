import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** {@code idle}: hold many idle tunnels open while run.sh measures the proxy's RSS. Part of {@link ConnectBench}. */
final class ConnectIdle {
  private ConnectIdle() {}

  static void run(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = ConnectBench.requiredProxy(opt, "idle");
    InetSocketAddress target = ConnectBench.target(opt);
    int count = ConnectBench.intOpt(opt, "count", 5000);
    int warmupCount = ConnectBench.intOpt(opt, "warmup-count", 500);
    int maxWait = ConnectBench.intOpt(opt, "max-wait", 180);
    Path sync = Path.of(opt.getOrDefault("sync-dir", "."));
    byte[] request = ConnectBench.connectRequest(target);

    ServerSocket ss = ConnectBench.listen(target);
    List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
    ConnectBench.daemon("accept", () -> ConnectBench.acceptLoop(ss, accepted::add));

    // warm-up: open and close a smaller batch so first-use costs land before the baseline
    List<Socket> warm = openMany(proxy, request, warmupCount);
    closeAll(warm);
    closeAll(drain(accepted));
    Thread.sleep(1000);
    signal(sync, "warm.done");
    awaitSignal(sync, "baseline.done", maxWait);

    long t0 = System.nanoTime();
    List<Socket> open = openMany(proxy, request, count);
    double openSeconds = (System.nanoTime() - t0) / 1e9;
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (accepted.size() < open.size() && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    System.out.printf(
        "RESULT mode=idle proxy=%d requested=%d opened=%d failed=%d accepted=%d open_seconds=%.2f%n",
        proxy.getPort(), count, open.size(), count - open.size(), accepted.size(), openSeconds);
    System.out.flush();
    signal(sync, "open.done");
    awaitSignal(sync, "measured.done", maxWait);
    closeAll(open);
    ss.close();
    closeAll(drain(accepted));
  }

  /** Opens n tunnels with 16 client threads; returns the ones that got a 200. */
  private static List<Socket> openMany(InetSocketAddress proxy, byte[] request, int n) throws InterruptedException {
    List<Socket> open = Collections.synchronizedList(new ArrayList<>(n));
    AtomicInteger next = new AtomicInteger();
    AtomicInteger reported = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    for (int t = 0; t < 16; t++) {
      pool.execute(
          () -> {
            byte[] buf = new byte[4096];
            while (next.getAndIncrement() < n) {
              Socket s = new Socket();
              try {
                s.setTcpNoDelay(true);
                s.connect(proxy, ConnectBench.CONNECT_TIMEOUT_MS);
                s.setSoTimeout(ConnectBench.IO_TIMEOUT_MS);
                s.getOutputStream().write(request);
                ConnectBench.readHead(s.getInputStream(), buf);
                open.add(s);
              } catch (IOException e) {
                ConnectBench.closeQuietly(s);
                if (reported.incrementAndGet() <= 5) {
                  System.err.println("idle: tunnel failed: " + e);
                }
              }
            }
          });
    }
    pool.shutdown();
    if (!pool.awaitTermination(120, TimeUnit.SECONDS)) {
      pool.shutdownNow();
    }
    return open;
  }

  private static List<Socket> drain(List<Socket> list) {
    synchronized (list) {
      List<Socket> copy = new ArrayList<>(list);
      list.clear();
      return copy;
    }
  }

  private static void closeAll(List<Socket> sockets) {
    synchronized (sockets) {
      for (Socket s : sockets) {
        ConnectBench.closeQuietly(s);
      }
    }
  }

  private static void signal(Path dir, String name) throws IOException {
    Files.writeString(dir.resolve(name), "1\n");
  }

  private static void awaitSignal(Path dir, String name, int maxSeconds) throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(maxSeconds);
    while (!Files.exists(dir.resolve(name))) {
      if (System.nanoTime() > until) {
        throw new IOException("timed out waiting for " + dir.resolve(name));
      }
      Thread.sleep(100);
    }
  }
}
