import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** {@code throughput}: download N MiB through a tunnel (or directly), median of several runs. Part of {@link ConnectBench}. */
final class ConnectThroughput {
  private ConnectThroughput() {}

  static void run(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = ConnectBench.proxy(opt);
    InetSocketAddress target = ConnectBench.target(opt);
    long total = (long) ConnectBench.intOpt(opt, "mib", 256) << 20;
    int runs = ConnectBench.intOpt(opt, "runs", 7);
    int warmupRuns = ConnectBench.intOpt(opt, "warmup-runs", 1);
    verify = Boolean.parseBoolean(opt.getOrDefault("verify", "false"));
    // --relay: with --proxy direct, dial this plain TCP relay (e.g. haproxy in TCP mode) instead
    InetSocketAddress dialTarget = opt.containsKey("relay") ? ConnectBench.loopback(opt.get("relay")) : target;
    ServerSocketChannel ss = ServerSocketChannel.open();
    ss.setOption(StandardSocketOptions.SO_REUSEADDR, true);
    ss.bind(target, 64);
    ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
    ConnectBench.daemon(
        "bulk-sender",
        () -> {
          while (ss.isOpen()) {
            try {
              SocketChannel ch = ss.accept();
              // the sender gets a watchdog too, so a stuck peer cannot hang this thread
              ScheduledFuture<?> kill = watchdog.schedule(() -> ConnectBench.closeQuietly(ch), 120, TimeUnit.SECONDS);
              sendBulk(ch, total);
              kill.cancel(false);
            } catch (IOException e) {
              if (ss.isOpen()) {
                System.err.println("accept: " + e);
              }
            }
          }
        });
    // A failed download (error, or fewer bytes than sent) is counted, reported and left out of
    // the median; it does not stop the run.
    int[] failed = {0, 0}; // {warm-up, measured}
    for (int i = 0; i < warmupRuns; i++) {
      if (tryDownload(proxy, target, dialTarget, total, watchdog) < 0) {
        failed[0]++;
      }
    }
    double[] mibps = new double[runs];
    double seconds = 0;
    long cpu0 = ConnectBench.cpuTicks(opt);
    for (int i = 0; i < runs; i++) {
      mibps[i] = tryDownload(proxy, target, dialTarget, total, watchdog);
      if (mibps[i] < 0) {
        failed[1]++;
      } else {
        seconds += (total / (1024.0 * 1024.0)) / mibps[i];
      }
    }
    double cpuMs = ConnectBench.cpuMillis(opt, cpu0, ConnectBench.cpuTicks(opt));
    ss.close();
    double[] ok = Arrays.stream(mibps).filter(v -> v >= 0).sorted().toArray();
    System.out.printf(
        "RESULT mode=throughput proxy=%s mib=%d runs=%d median_mibps=%.1f best_mibps=%.1f all=%s"
            + " proxy_cpu_pct=%.0f failed_warmup=%d failed=%d%n",
        proxy == null ? "direct" : proxy.getPort(), total >> 20, runs,
        ok.length == 0 ? 0 : ok[ok.length / 2], ok.length == 0 ? 0 : ok[ok.length - 1],
        Arrays.toString(Arrays.stream(mibps).map(v -> Math.round(v)).toArray()).replace(" ", ""),
        cpuMs < 0 || seconds == 0 ? -1 : cpuMs / 10 / seconds, failed[0], failed[1]);
  }

  private static final AtomicInteger DOWNLOAD_ERRORS = new AtomicInteger();

  /** --verify true: the sender writes a position-dependent pattern and the receiver checks it. */
  private static volatile boolean verify;

  private static byte pattern(long offset) {
    return (byte) ((offset * 0x9E3779B97F4A7C15L) >>> 56);
  }

  /** {@link #download}, or -1 after printing (the first few) failures to stderr. */
  private static double tryDownload(
      InetSocketAddress proxy, InetSocketAddress target, InetSocketAddress dialTarget, long total,
      ScheduledExecutorService watchdog) {
    try {
      return download(proxy, target, dialTarget, total, watchdog);
    } catch (Exception e) {
      if (DOWNLOAD_ERRORS.incrementAndGet() <= 5) {
        System.err.println("throughput: download failed: " + e);
      }
      return -1;
    }
  }

  /** Server side: wait for the client's one-byte "go", then write total bytes and close. */
  private static void sendBulk(SocketChannel ch, long total) {
    try (ch) {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ByteBuffer go = ByteBuffer.allocate(1);
      if (ch.read(go) < 0) {
        return;
      }
      ByteBuffer chunk = ByteBuffer.allocateDirect(256 * 1024);
      long left = total;
      while (left > 0) {
        int n = (int) Math.min(chunk.capacity(), left);
        chunk.clear().limit(n);
        if (verify) {
          long offset = total - left;
          for (int i = 0; i < n; i++) {
            chunk.put(i, pattern(offset + i));
          }
        }
        while (chunk.hasRemaining()) {
          ch.write(chunk);
        }
        left -= n;
      }
    } catch (IOException e) {
      System.err.println("sender: " + e);
    }
  }

  /** One download; returns MiB/s measured from the "go" byte to EOF (tunnel set-up excluded). */
  private static double download(
      InetSocketAddress proxy, InetSocketAddress target, InetSocketAddress dialTarget, long total,
      ScheduledExecutorService watchdog)
      throws Exception {
    try (SocketChannel ch = SocketChannel.open()) {
      ScheduledFuture<?> kill = watchdog.schedule(() -> ConnectBench.closeQuietly(ch), 120, TimeUnit.SECONDS);
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.socket().connect(proxy == null ? dialTarget : proxy, ConnectBench.CONNECT_TIMEOUT_MS);
      long received = 0;
      if (proxy != null) {
        byte[] buf = new byte[8192];
        ch.socket().setSoTimeout(ConnectBench.IO_TIMEOUT_MS);
        ch.write(ByteBuffer.wrap(ConnectBench.connectRequest(target)));
        int[] head = ConnectBench.readHead(ch.socket().getInputStream(), buf);
        received = head[1] - head[0]; // nothing should follow the head: the server waits for "go"
      }
      ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
      long firstBad = -1;
      long start = System.nanoTime();
      ch.write(ByteBuffer.wrap(new byte[] {'g'}));
      while (true) {
        buf.clear();
        int r = ch.read(buf);
        if (r < 0) {
          break;
        }
        if (verify && firstBad < 0) {
          for (int i = 0; i < r; i++) {
            if (buf.get(i) != pattern(received + i)) {
              firstBad = received + i;
              break;
            }
          }
        }
        received += r;
      }
      long nanos = System.nanoTime() - start;
      kill.cancel(false);
      if (received != total || firstBad >= 0) {
        throw new IOException(
            "received " + received + " bytes, expected " + total
                + (firstBad >= 0 ? "; content differs from byte " + firstBad : verify ? "; content intact" : ""));
      }
      return (total / (1024.0 * 1024.0)) / (nanos / 1e9);
    }
  }

}
