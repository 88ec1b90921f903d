import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CONNECT-tunnel benchmark for Tollgate's bench/run.sh. Standalone, JDK 17, no dependencies:
 *
 * <pre>
 *   java bench/ConnectBench.java throughput --proxy 127.0.0.1:13128|direct --port 18443 [--mib 256] [--runs 7] [--warmup-runs 1]
 *   java bench/ConnectBench.java rate       --proxy 127.0.0.1:13128 --port 18444 [--concurrency 32] [--seconds 10] [--warmup-seconds 2]
 *   java bench/ConnectBench.java idle       --proxy 127.0.0.1:13128 --port 18445 [--count 5000] [--warmup-count 500] --sync-dir DIR
 * </pre>
 *
 * Every mode starts its own target server on 127.0.0.1:PORT in this JVM. Only loopback addresses
 * are accepted. Results are printed as one {@code RESULT key=value ...} line on stdout. With
 * {@code --cpu-pids P1,P2 --clk-tck 100}, throughput and rate also report the CPU time those
 * processes used during the measured part (from /proc/PID/stat utime+stime).
 */
public class ConnectBench {
  private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
  private static final int CONNECT_TIMEOUT_MS = 5_000;
  private static final int IO_TIMEOUT_MS = 15_000;

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage();
    }
    Map<String, String> opt = options(args);
    try {
      switch (args[0]) {
        case "throughput" -> throughput(opt);
        case "rate" -> rate(opt);
        case "idle" -> idle(opt);
        default -> usage();
      }
    } catch (Exception e) {
      System.err.println("ConnectBench " + args[0] + " failed: " + e);
      System.exit(1);
    }
    System.exit(0); // pools and servers are not daemon threads
  }

  private static void usage() {
    System.err.println(
        "usage: ConnectBench throughput|rate|idle --proxy 127.0.0.1:PORT|direct --port TARGETPORT [options]\n"
            + "  throughput: --mib 256 --runs 7 --warmup-runs 1   download MiB through a CONNECT tunnel (or direct;\n"
            + "              with --proxy direct --relay 127.0.0.1:PORT through a plain TCP relay listening there;\n"
            + "              --verify true checks the content, not only the length)\n"
            + "  rate:       --concurrency 32 --seconds 10 --warmup-seconds 2   CONNECT tunnels set up per second\n"
            + "  idle:       --count 5000 --warmup-count 500 --sync-dir DIR --max-wait 180   hold idle tunnels\n"
            + "  throughput and rate: --cpu-pids PID,PID --clk-tck 100   also report those processes' CPU time");
    System.exit(2);
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        System.err.println("bad option: " + args[i]);
        usage();
      }
      m.put(args[i].substring(2), args[++i]);
    }
    return m;
  }

  private static int intOpt(Map<String, String> opt, String name, int fallback) {
    return opt.containsKey(name) ? Integer.parseInt(opt.get(name)) : fallback;
  }

  /** The proxy address, or null for "direct". Only loopback is allowed. */
  private static InetSocketAddress proxy(Map<String, String> opt) throws IOException {
    String p = opt.get("proxy");
    if (p == null) {
      throw new IllegalArgumentException("--proxy is required");
    }
    if (p.equals("direct")) {
      return null;
    }
    return loopback(p);
  }

  private static InetSocketAddress loopback(String hostPort) throws IOException {
    int colon = hostPort.lastIndexOf(':');
    InetAddress a = InetAddress.getByName(hostPort.substring(0, colon));
    if (!a.isLoopbackAddress()) {
      throw new IllegalArgumentException("only loopback addresses are allowed: " + hostPort);
    }
    return new InetSocketAddress(a, Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** Sum of utime+stime (clock ticks) of the --cpu-pids processes, or -1 without that option. */
  private static long cpuTicks(Map<String, String> opt) {
    String pids = opt.get("cpu-pids");
    if (pids == null || pids.isBlank()) {
      return -1;
    }
    long total = 0;
    for (String pid : pids.split(",")) {
      try {
        String stat = Files.readString(Path.of("/proc", pid.trim(), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        total += Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
      } catch (IOException | RuntimeException e) {
        // the process is gone: count nothing for it
      }
    }
    return total;
  }

  /** CPU milliseconds between two {@link #cpuTicks} readings, or -1. */
  private static double cpuMillis(Map<String, String> opt, long before, long after) {
    return before < 0 ? -1 : (after - before) * 1000.0 / intOpt(opt, "clk-tck", 100);
  }

  private static InetSocketAddress target(Map<String, String> opt) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), intOpt(opt, "port", 18443));
  }

  private static ServerSocket listen(InetSocketAddress addr) throws IOException {
    ServerSocket ss = new ServerSocket();
    ss.setReuseAddress(true);
    ss.bind(addr, 4096);
    return ss;
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static byte[] connectRequest(InetSocketAddress target) {
    String authority = target.getAddress().getHostAddress() + ":" + target.getPort();
    return ("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Reads a response head into buf; returns {headLength, bytesRead}. Throws unless the status is 200. */
  private static int[] readHead(InputStream in, byte[] buf) throws IOException {
    int n = 0;
    while (n < buf.length) {
      int r = in.read(buf, n, buf.length - n);
      if (r < 0) {
        throw new IOException("proxy closed before the CONNECT response head was complete");
      }
      n += r;
      int end = indexOf(buf, n, CRLFCRLF);
      if (end >= 0) {
        checkStatus(buf, end);
        return new int[] {end + 4, n};
      }
    }
    throw new IOException("CONNECT response head too long");
  }

  private static void checkStatus(byte[] buf, int end) throws IOException {
    String head = new String(buf, 0, end, StandardCharsets.ISO_8859_1);
    String status = head.lines().findFirst().orElse("");
    if (!(status.startsWith("HTTP/1.1 200") || status.startsWith("HTTP/1.0 200"))) {
      throw new IOException("CONNECT refused: " + status);
    }
  }

  private static int indexOf(byte[] buf, int len, byte[] pat) {
    outer:
    for (int i = 0; i + pat.length <= len; i++) {
      for (int j = 0; j < pat.length; j++) {
        if (buf[i + j] != pat[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  // ---------------------------------------------------------------------------------------------
  // throughput: download N MiB through a tunnel (or directly), median of several runs

  private static void throughput(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = proxy(opt);
    InetSocketAddress target = target(opt);
    long total = (long) intOpt(opt, "mib", 256) << 20;
    int runs = intOpt(opt, "runs", 7);
    int warmupRuns = intOpt(opt, "warmup-runs", 1);
    verify = Boolean.parseBoolean(opt.getOrDefault("verify", "false"));
    // --relay: with --proxy direct, dial this plain TCP relay (e.g. haproxy in TCP mode) instead
    InetSocketAddress dialTarget = opt.containsKey("relay") ? loopback(opt.get("relay")) : target;
    ServerSocketChannel ss = ServerSocketChannel.open();
    ss.setOption(StandardSocketOptions.SO_REUSEADDR, true);
    ss.bind(target, 64);
    ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
    daemon(
        "bulk-sender",
        () -> {
          while (ss.isOpen()) {
            try {
              SocketChannel ch = ss.accept();
              // the sender gets a watchdog too, so a stuck peer cannot hang this thread
              ScheduledFuture<?> kill = watchdog.schedule(() -> closeQuietly(ch), 120, TimeUnit.SECONDS);
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
    long cpu0 = cpuTicks(opt);
    for (int i = 0; i < runs; i++) {
      mibps[i] = tryDownload(proxy, target, dialTarget, total, watchdog);
      if (mibps[i] < 0) {
        failed[1]++;
      } else {
        seconds += (total / (1024.0 * 1024.0)) / mibps[i];
      }
    }
    double cpuMs = cpuMillis(opt, cpu0, cpuTicks(opt));
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
      ScheduledFuture<?> kill = watchdog.schedule(() -> closeQuietly(ch), 120, TimeUnit.SECONDS);
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.socket().connect(proxy == null ? dialTarget : proxy, CONNECT_TIMEOUT_MS);
      long received = 0;
      if (proxy != null) {
        byte[] buf = new byte[8192];
        ch.socket().setSoTimeout(IO_TIMEOUT_MS);
        ch.write(ByteBuffer.wrap(connectRequest(target)));
        int[] head = readHead(ch.socket().getInputStream(), buf);
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

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // best effort
    }
  }

  private interface SocketHandler {
    void accept(Socket s) throws Exception;
  }

  private static void acceptLoop(ServerSocket ss, SocketHandler handler) {
    while (!ss.isClosed()) {
      try {
        Socket s = ss.accept();
        handler.accept(s);
      } catch (Exception e) {
        if (!ss.isClosed()) {
          System.err.println("accept: " + e);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // rate: tunnels set up per second with a fixed number of concurrent clients

  private static void rate(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = proxy(opt);
    if (proxy == null) {
      throw new IllegalArgumentException("rate needs a proxy");
    }
    InetSocketAddress target = target(opt);
    int concurrency = intOpt(opt, "concurrency", 32);
    int seconds = intOpt(opt, "seconds", 10);
    int warmup = intOpt(opt, "warmup-seconds", 2);
    ServerSocket ss = listen(target);
    ThreadPoolExecutor echo =
        new ThreadPoolExecutor(
            concurrency * 4, concurrency * 4, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8192));
    daemon("accept", () -> acceptLoop(ss, s -> echo.execute(() -> echoOne(s))));
    byte[] request = connectRequest(target);
    if (warmup > 0) {
      ratePhase(proxy, request, concurrency, warmup);
    }
    long cpu0 = cpuTicks(opt);
    long[] r = ratePhase(proxy, request, concurrency, seconds);
    double cpuMs = cpuMillis(opt, cpu0, cpuTicks(opt));
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
      s.setSoTimeout(IO_TIMEOUT_MS);
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
      s.connect(proxy, CONNECT_TIMEOUT_MS);
      s.setSoTimeout(IO_TIMEOUT_MS);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(request);
      int[] head = readHead(in, buf);
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

  // ---------------------------------------------------------------------------------------------
  // idle: hold many idle tunnels open while run.sh measures the proxy's RSS

  private static void idle(Map<String, String> opt) throws Exception {
    InetSocketAddress proxy = proxy(opt);
    if (proxy == null) {
      throw new IllegalArgumentException("idle needs a proxy");
    }
    InetSocketAddress target = target(opt);
    int count = intOpt(opt, "count", 5000);
    int warmupCount = intOpt(opt, "warmup-count", 500);
    int maxWait = intOpt(opt, "max-wait", 180);
    Path sync = Path.of(opt.getOrDefault("sync-dir", "."));
    byte[] request = connectRequest(target);

    ServerSocket ss = listen(target);
    List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
    daemon("accept", () -> acceptLoop(ss, accepted::add));

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
                s.connect(proxy, CONNECT_TIMEOUT_MS);
                s.setSoTimeout(IO_TIMEOUT_MS);
                s.getOutputStream().write(request);
                readHead(s.getInputStream(), buf);
                open.add(s);
              } catch (IOException e) {
                closeQuietly(s);
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
        closeQuietly(s);
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
