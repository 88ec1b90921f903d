import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** {@code rate}: tunnels set up per second with a fixed number of concurrent clients. Part of {@link ConnectBench}. */
final class ConnectRate {
  private ConnectRate() {}

  static void run(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = ConnectBench.requiredProxy(opt, "rate");
    InetSocketAddress target = ConnectBench.target(opt);
    int concurrency = ConnectBench.intOpt(opt, "concurrency", 32);
    int seconds = ConnectBench.intOpt(opt, "seconds", 10);
    int warmup = ConnectBench.intOpt(opt, "warmup-seconds", 2);
    ServerSocket ss = ConnectBench.listen(target);
    ThreadPoolExecutor echo =
        new ThreadPoolExecutor(
            concurrency * 4, concurrency * 4, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8192));
    ConnectBench.daemon("accept", () -> ConnectBench.acceptLoop(ss, s -> echo.execute(() -> echoOne(s))));
    byte[] request = ConnectBench.connectRequest(target);
    if (warmup > 0) {
      ratePhase(proxy, request, concurrency, warmup);
    }
    long cpu0 = ConnectBench.cpuTicks(opt);
    long[] r = ratePhase(proxy, request, concurrency, seconds);
    double cpuMs = ConnectBench.cpuMillis(opt, cpu0, ConnectBench.cpuTicks(opt));
    ss.close();
    echo.shutdownNow();
    double elapsed = r[2] / 1e9;
    System.out.printf(
        "RESULT mode=rate proxy=%d concurrency=%d seconds=%.2f ok=%d failed=%d tunnels_per_s=%.1f"
            + " proxy_cpu_pct=%.0f proxy_cpu_us_per_tunnel=%.0f%n",
        proxy.getPort(), concurrency, elapsed, r[0], r[1], r[0] / elapsed,
        cpuMs < 0 ? -1 : cpuMs / 10 / elapsed, cpuMs < 0 || r[0] == 0 ? -1 : cpuMs * 1000 / r[0]);
  }

  /** Target side of one tunnel: echo one byte, then wait for the client's close. */
  private static void echoOne(Socket s) {
    try (s) {
      s.setSoTimeout(ConnectBench.IO_TIMEOUT_MS);
      InputStream in = s.getInputStream();
      int b = in.read();
      if (b < 0) {
        return;
      }
      s.getOutputStream().write(b);
      while (in.read() >= 0) {
        // drain until the client (through the proxy) closes
      }
    } catch (IOException e) {
      // counted on the client side
    }
  }

  /** Returns {ok, failed, elapsedNanos}. */
  private static long[] ratePhase(InetSocketAddress proxy, byte[] request, int concurrency, int seconds)
      throws InterruptedException {
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicInteger reported = new AtomicInteger();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
    ExecutorService clients = Executors.newFixedThreadPool(concurrency);
    for (int i = 0; i < concurrency; i++) {
      clients.execute(
          () -> {
            byte[] buf = new byte[4096];
            while (System.nanoTime() < deadline) {
              try {
                oneTunnel(proxy, request, buf);
                ok.incrementAndGet();
              } catch (IOException e) {
                failed.incrementAndGet();
                if (reported.incrementAndGet() <= 5) {
                  System.err.println("rate: tunnel failed: " + e);
                }
              }
            }
          });
    }
    clients.shutdown();
    if (!clients.awaitTermination(seconds + 60L, TimeUnit.SECONDS)) {
      clients.shutdownNow();
    }
    return new long[] {ok.get(), failed.get(), System.nanoTime() - start};
  }

  private static void oneTunnel(InetSocketAddress proxy, byte[] request, byte[] buf) throws IOException {
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.connect(proxy, ConnectBench.CONNECT_TIMEOUT_MS);
      s.setSoTimeout(ConnectBench.IO_TIMEOUT_MS);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(request);
      int[] head = ConnectBench.readHead(in, buf);
      if (head[1] != head[0]) {
        throw new IOException("unexpected bytes after the CONNECT response head");
      }
      out.write('x');
      int b = in.read();
      if (b != 'x') {
        throw new IOException("echo failed: got " + b);
      }
    }
  }

}
