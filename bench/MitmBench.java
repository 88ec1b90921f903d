import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Intercepting-proxy benchmark for bench/mitm.sh. Standalone, JDK 17, no dependencies. The client
 * opens CONNECT tunnels through the proxy and speaks TLS inside them, trusting only the proxy's CA
 * (hostname verification on), then HTTP/1.1 GETs:
 *
 * <pre>
 *   java bench/MitmBench.java rps  --proxy 127.0.0.1:P --target localhost:T --ca CA.pem [--path /small.html] [--concurrency 16] [--seconds 10] [--warmup-seconds 5]
 *   java bench/MitmBench.java conn --proxy ... --target ... --ca ... [--concurrency 16] [--seconds 10] [--warmup-seconds 5]
 *   java bench/MitmBench.java idle --proxy ... --target ... --ca ... [--count 1000] [--warmup-count 100] --sync-dir DIR
 * </pre>
 *
 * rps: kept-alive intercepted connections, one per thread, GETs back to back. conn: each
 * iteration is a new TCP connection, CONNECT, full TLS handshake (sessions are invalidated, so
 * never resumed), one GET, close. {@code all=} counts warm-up completions too (for CPU per
 * operation over the whole run). idle: warm-up connections are opened and closed, then
 * {@code warm.done} is written and {@code baseline.done} awaited; then {@code count} connections
 * are opened, each completes one GET and stays open; {@code open.done} is written and
 * {@code measured.done} awaited. Results: one {@code RESULT key=value ...} line on stdout.
 */
public class MitmBench {
  private static final int IO_TIMEOUT_MS = 15_000;

  private final InetSocketAddress proxy;
  private final String host;
  private final int port;
  private final String path;
  private final SSLContext tls;

  MitmBench(Map<String, String> opt) throws Exception {
    proxy = address(need(opt, "proxy"));
    String target = need(opt, "target");
    host = target.substring(0, target.lastIndexOf(':'));
    port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    path = opt.getOrDefault("path", "/small.html");
    tls = trusting(Path.of(need(opt, "ca")));
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage();
    }
    Map<String, String> opt = new HashMap<>();
    for (int i = 1; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        usage();
      }
      opt.put(args[i].substring(2), args[i + 1]);
    }
    MitmBench bench = new MitmBench(opt);
    switch (args[0]) {
      case "rps" -> bench.load(opt, true);
      case "conn" -> bench.load(opt, false);
      case "idle" -> bench.idle(opt);
      default -> usage();
    }
    System.exit(0);
  }

  /** One intercepted connection: the TLS socket inside the tunnel and its buffered input. */
  final class Conn implements AutoCloseable {
    final SSLSocket socket;
    final InputStream in;
    final OutputStream out;

    Conn() throws IOException {
      Socket raw = new Socket();
      try {
        raw.connect(proxy, 5_000);
        raw.setTcpNoDelay(true);
        raw.setSoTimeout(IO_TIMEOUT_MS);
        String authority = host + ":" + port;
        raw.getOutputStream().write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String head = readHead(raw.getInputStream());
        if (!head.startsWith("HTTP/1.1 200") && !head.startsWith("HTTP/1.0 200")) {
          throw new IOException("CONNECT answered: " + head.lines().findFirst().orElse(""));
        }
        socket = (SSLSocket) tls.getSocketFactory().createSocket(raw, host, port, true);
        SSLParameters p = socket.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        p.setApplicationProtocols(new String[] {"http/1.1"});
        if (!Character.isDigit(host.charAt(0))) {
          p.setServerNames(List.of(new SNIHostName(host)));
        }
        socket.setSSLParameters(p);
        socket.startHandshake();
        in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        out = socket.getOutputStream();
      } catch (IOException | RuntimeException e) {
        raw.close();
        throw e;
      }
    }

    /** One GET; returns the body length. */
    int get(boolean close) throws IOException {
      out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String head = readHead(in);
      if (!head.startsWith("HTTP/1.1 200")) {
        throw new IOException("GET answered: " + head.lines().findFirst().orElse(""));
      }
      int length = -1;
      for (String line : head.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
          length = Integer.parseInt(line.substring(colon + 1).trim());
        }
      }
      if (length < 0) {
        throw new IOException("no Content-Length in: " + head);
      }
      byte[] body = in.readNBytes(length);
      if (body.length != length) {
        throw new IOException("short body");
      }
      return length;
    }

    @Override
    public void close() {
      try {
        socket.getSession().invalidate(); // the next connection does a full handshake
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  /** rps (kept-alive) or conn (a new intercepted connection per request). */
  void load(Map<String, String> opt, boolean keepAlive) throws Exception {
    int concurrency = Integer.parseInt(opt.getOrDefault("concurrency", "16"));
    long warmupNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(opt.getOrDefault("warmup-seconds", "5")));
    long nanos = TimeUnit.SECONDS.toNanos(Long.parseLong(opt.getOrDefault("seconds", "10")));
    long start = System.nanoTime();
    long measureFrom = start + warmupNanos;
    long end = measureFrom + nanos;
    AtomicLong done = new AtomicLong();
    AtomicLong all = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    for (int t = 0; t < concurrency; t++) {
      pool.execute(() -> {
        Conn c = null;
        while (System.nanoTime() < end) {
          try {
            if (c == null) {
              c = new Conn();
            }
            c.get(!keepAlive);
            if (!keepAlive) {
              c.close();
              c = null;
            }
            all.incrementAndGet();
            long now = System.nanoTime();
            if (now >= measureFrom && now < end) {
              done.incrementAndGet();
            }
          } catch (IOException | RuntimeException e) {
            if (System.nanoTime() >= measureFrom) {
              failed.incrementAndGet();
            }
            if (errors.size() < 3) {
              errors.add(e.toString());
            }
            if (c != null) {
              c.close();
              c = null;
            }
          }
        }
        if (c != null) {
          c.close();
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(nanos + warmupNanos + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS);
    errors.forEach(e -> System.err.println("error: " + e));
    double seconds = nanos / 1e9;
    System.out.printf("RESULT mode=%s per_s=%.1f done=%d all=%d failed=%d concurrency=%d seconds=%.0f%n",
        keepAlive ? "rps" : "conn", done.get() / seconds, done.get(), all.get(), failed.get(), concurrency, seconds);
  }

  void idle(Map<String, String> opt) throws Exception {
    int count = Integer.parseInt(opt.getOrDefault("count", "1000"));
    int warmup = Integer.parseInt(opt.getOrDefault("warmup-count", "100"));
    Path sync = Path.of(need(opt, "sync-dir"));
    long maxWait = TimeUnit.SECONDS.toMillis(Long.parseLong(opt.getOrDefault("max-wait", "120")));
    AtomicInteger failed = new AtomicInteger();
    for (Conn c : open(warmup, failed)) {
      c.close();
    }
    Files.writeString(sync.resolve("warm.done"), "");
    await(sync.resolve("baseline.done"), maxWait);
    failed.set(0);
    List<Conn> held = open(count, failed);
    Files.writeString(sync.resolve("open.done"), "");
    await(sync.resolve("measured.done"), maxWait);
    held.forEach(Conn::close);
    System.out.printf("RESULT mode=idle opened=%d failed=%d%n", held.size(), failed.get());
  }

  /** Opens {@code n} intercepted connections (16 at a time), each after one GET. */
  private List<Conn> open(int n, AtomicInteger failed) throws InterruptedException {
    List<Conn> out = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(16);
    for (int i = 0; i < n; i++) {
      pool.execute(() -> {
        try {
          Conn c = new Conn();
          c.get(false);
          out.add(c);
        } catch (IOException | RuntimeException e) {
          if (failed.incrementAndGet() <= 3) {
            System.err.println("error: " + e);
          }
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(10, TimeUnit.MINUTES);
    return new ArrayList<>(out);
  }

  private static void await(Path file, long maxWaitMillis) throws Exception {
    long until = System.currentTimeMillis() + maxWaitMillis;
    while (!Files.exists(file)) {
      if (System.currentTimeMillis() > until) {
        throw new IOException("timed out waiting for " + file);
      }
      Thread.sleep(50);
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder s = new StringBuilder();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed in the response head: " + s);
      }
      s.append((char) b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : (b == '\r' ? 1 : 0);
      if (s.length() > 65536) {
        throw new IOException("response head too long");
      }
    }
    return s.toString();
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    int i = 0;
    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pem)))) {
      trust.setCertificateEntry("ca" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  private static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    String h = hostPort.substring(0, colon);
    if (!h.equals("127.0.0.1") && !h.equals("localhost")) {
      throw new IllegalArgumentException("loopback only: " + hostPort);
    }
    return new InetSocketAddress(h, Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private static String need(Map<String, String> opt, String key) {
    String v = opt.get(key);
    if (v == null) {
      System.err.println("missing --" + key);
      usage();
    }
    return v;
  }

  private static void usage() {
    System.err.println("usage: java bench/MitmBench.java rps|conn|idle --proxy 127.0.0.1:PORT --target localhost:PORT --ca CA.pem [options]");
    System.exit(2);
  }
}
