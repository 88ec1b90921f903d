import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * CONNECT-tunnel benchmark for Tollgate's bench/run.sh. Standalone, JDK 17, no dependencies; one
 * class per mode beside this one ({@code javac -d DIR bench/Connect*.java}):
 *
 * <pre>
 *   java -cp DIR ConnectBench throughput --proxy 127.0.0.1:13128|direct --port 18443 [--mib 256] [--runs 7] [--warmup-runs 1]
 *   java -cp DIR ConnectBench rate       --proxy 127.0.0.1:13128 --port 18444 [--concurrency 32] [--seconds 10] [--warmup-seconds 2]
 *   java -cp DIR ConnectBench idle       --proxy 127.0.0.1:13128 --port 18445 [--count 5000] [--warmup-count 500] --sync-dir DIR
 * </pre>
 *
 * Every mode starts its own target server on 127.0.0.1:PORT in this JVM. Only loopback addresses
 * are accepted. Results are printed as one {@code RESULT key=value ...} line on stdout. With
 * {@code --cpu-pids P1,P2 --clk-tck 100}, throughput and rate also report the CPU time those
 * processes used during the measured part (from /proc/PID/stat utime+stime).
 */
public class ConnectBench {
  static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
  static final int CONNECT_TIMEOUT_MS = 5_000;
  static final int IO_TIMEOUT_MS = 15_000;

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage();
    }
    Map<String, String> opt = options(args);
    try {
      switch (args[0]) {
        case "throughput" -> ConnectThroughput.run(opt);
        case "rate" -> ConnectRate.run(opt);
        case "idle" -> ConnectIdle.run(opt);
        default -> usage();
      }
    } catch (Exception e) {
      System.err.println("ConnectBench " + args[0] + " failed: " + e);
      System.exit(1);
    }
    System.exit(0); // pools and servers are not daemon threads
  }

  static void usage() {
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

  static Map<String, String> options(String[] args) {
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

  static int intOpt(Map<String, String> opt, String name, int fallback) {
    return opt.containsKey(name) ? Integer.parseInt(opt.get(name)) : fallback;
  }

  /** The proxy address, or null for "direct". Only loopback is allowed. */
  static InetSocketAddress proxy(Map<String, String> opt) throws IOException {
    String p = opt.get("proxy");
    if (p == null) {
      throw new IllegalArgumentException("--proxy is required");
    }
    if (p.equals("direct")) {
      return null;
    }
    return loopback(p);
  }

  /** The proxy address, for the modes that cannot run "direct". */
  static InetSocketAddress requiredProxy(Map<String, String> opt, String mode) throws IOException {
    InetSocketAddress proxy = proxy(opt);
    if (proxy == null) {
      throw new IllegalArgumentException(mode + " needs a proxy");
    }
    return proxy;
  }

  static InetSocketAddress loopback(String hostPort) throws IOException {
    int colon = hostPort.lastIndexOf(':');
    InetAddress a = InetAddress.getByName(hostPort.substring(0, colon));
    if (!a.isLoopbackAddress()) {
      throw new IllegalArgumentException("only loopback addresses are allowed: " + hostPort);
    }
    return new InetSocketAddress(a, Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** Sum of utime+stime (clock ticks) of the --cpu-pids processes, or -1 without that option. */
  static long cpuTicks(Map<String, String> opt) {
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
  static double cpuMillis(Map<String, String> opt, long before, long after) {
    return before < 0 ? -1 : (after - before) * 1000.0 / intOpt(opt, "clk-tck", 100);
  }

  static InetSocketAddress target(Map<String, String> opt) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), intOpt(opt, "port", 18443));
  }

  static ServerSocket listen(InetSocketAddress addr) throws IOException {
    ServerSocket ss = new ServerSocket();
    ss.setReuseAddress(true);
    ss.bind(addr, 4096);
    return ss;
  }

  static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  static byte[] connectRequest(InetSocketAddress target) {
    String authority = target.getAddress().getHostAddress() + ":" + target.getPort();
    return ("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Reads a response head into buf; returns {headLength, bytesRead}. Throws unless the status is 200. */
  static int[] readHead(InputStream in, byte[] buf) throws IOException {
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

  static void checkStatus(byte[] buf, int end) throws IOException {
    String head = new String(buf, 0, end, StandardCharsets.ISO_8859_1);
    String status = head.lines().findFirst().orElse("");
    if (!(status.startsWith("HTTP/1.1 200") || status.startsWith("HTTP/1.0 200"))) {
      throw new IOException("CONNECT refused: " + status);
    }
  }

  static int indexOf(byte[] buf, int len, byte[] pat) {
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

  static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // best effort
    }
  }

  interface SocketHandler {
    void accept(Socket s) throws Exception;
  }

  static void acceptLoop(ServerSocket ss, SocketHandler handler) {
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

}
