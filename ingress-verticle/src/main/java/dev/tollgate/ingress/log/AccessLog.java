package dev.tollgate.ingress.log;

import dev.tollgate.common.metrics.ProxyMetrics;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per forwarded request and per tunnel, as JSON or in Squid's native access.log format.
 * Lines are formatted on the event loop and written in batches by one thread of their own through
 * a bounded queue: an event loop never waits on the disk; under overload lines are dropped and
 * counted.
 */
public final class AccessLog implements AutoCloseable {
  /** The line formats. */
  public enum Format {
    JSON,
    SQUID
  }

  private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
  private static final String STOP = "\u0000stop";
  private static final long BATCH_PAUSE_MILLIS = 5;

  private final String node;
  private final Format format;
  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(64 * 1024);
  private final AtomicLong dropped = new AtomicLong();
  private final Thread writer;
  private final ProxyMetrics metrics;

  /** @param file the file to append to, or null for standard output */
  public AccessLog(String node, Format format, Path file) throws IOException {
    this(node, format, file, ProxyMetrics.none());
  }

  /**
   * @param file the file to append to, or null for standard output
   * @param metrics where every logged exchange is counted too
   */
  public AccessLog(String node, Format format, Path file, ProxyMetrics metrics) throws IOException {
    this.metrics = metrics;
    this.node = node;
    this.format = format;
    Writer out =
        file == null
            ? new OutputStreamWriter(System.out, StandardCharsets.UTF_8)
            : Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    BufferedWriter buffered = new BufferedWriter(out, 64 * 1024);
    writer = new Thread(() -> drain(buffered), "tollgate-access-log");
    writer.setDaemon(true);
    writer.start();
  }

  /** Logs a finished exchange: its status and the bytes it moved each way. */
  public void log(AccessRecord r, int status, long bytesUp, long bytesDown) {
    long duration = System.nanoTime() - r.startNanos;
    if (status == 200 && "CONNECT".equals(r.method)) {
      metrics.tunnelClosed(bytesUp, bytesDown, duration);
    } else {
      metrics.exchange(r.method, status, duration, r.failure, bytesUp, bytesDown);
    }
    String line = format == Format.JSON ? json(r, status, bytesUp, bytesDown) : squid(r, status, bytesUp, bytesDown);
    if (!queue.offer(line)) {
      dropped.incrementAndGet();
    }
  }

  /** The node's metrics, which count what is logged here. */
  public ProxyMetrics metrics() {
    return metrics;
  }

  /** Lines dropped because the writer could not keep up. */
  public long dropped() {
    return dropped.get();
  }

  /**
   * The JSON line, written by hand: it is the same text {@code JsonObject#encode} makes of these
   * fields (same order, same escaping, {@code null} for what is missing), without building a map
   * and running Jackson's databind for every request.
   */
  String json(AccessRecord r, int status, long up, long down) {
    StringBuilder b = new StringBuilder(256).append("{\"time\":");
    time(b, r.startMillis);
    field(b, "node", node);
    field(b, "client", r.client);
    field(b, "user", r.user);
    field(b, "method", r.method);
    field(b, "target", r.target);
    field(b, "decision", r.decision == null ? null : r.decision.action().name().toLowerCase(Locale.ROOT));
    field(b, "rule", r.decision == null ? null : r.decision.ruleId());
    b.append(",\"status\":").append(status);
    b.append(",\"bytesUp\":").append(up);
    b.append(",\"bytesDown\":").append(down);
    b.append(",\"durationMs\":").append((System.nanoTime() - r.startNanos) / 1_000_000);
    return b.append('}').toString();
  }

  /** {@code Instant.ofEpochMilli(millis).toString()} as a JSON string; the date and time to the second are formatted once per second. */
  private void time(StringBuilder b, long millis) {
    long second = Math.floorDiv(millis, 1000);
    TimeText cached = timeText;
    if (cached == null || cached.second != second) {
      String text = Instant.ofEpochSecond(second).toString(); // ends with "Z"
      cached = new TimeText(second, text.substring(0, text.length() - 1));
      timeText = cached;
    }
    b.append('"').append(cached.prefix);
    int ms = (int) Math.floorMod(millis, 1000);
    if (ms != 0) {
      b.append('.').append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10)).append((char) ('0' + ms % 10));
    }
    b.append("Z\"");
  }

  /** One second's formatted date and time; shared by the event loops, replaced whole. */
  private record TimeText(long second, String prefix) {}

  private volatile TimeText timeText;

  /** Whether {@code value} needs no escaping (the usual case: appended whole). */
  private static boolean plain(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  private static void field(StringBuilder b, String name, String value) {
    b.append(",\"").append(name).append("\":");
    if (value == null) {
      b.append("null");
      return;
    }
    b.append('"');
    if (plain(value)) {
      b.append(value).append('"');
      return;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\b' -> b.append("\\b");
        case '\t' -> b.append("\\t");
        case '\n' -> b.append("\\n");
        case '\f' -> b.append("\\f");
        case '\r' -> b.append("\\r");
        default -> {
          if (c < 0x20) {
            b.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** Squid's native format: time elapsed client code/status bytes method URL user hierarchy type. */
  String squid(AccessRecord r, int status, long up, long down) {
    String code;
    if (status == 407) {
      code = "TCP_DENIED";
    } else if (status >= 400 && r.decision != null && !r.decision.allowed()) {
      code = "TCP_DENIED";
    } else if ("CONNECT".equals(r.method)) {
      code = "TCP_TUNNEL";
    } else {
      code = "TCP_MISS";
    }
    long elapsed = (System.nanoTime() - r.startNanos) / 1_000_000;
    String clientIp = r.client.startsWith("[") ? r.client.substring(1, r.client.indexOf(']')) : r.client.substring(0, Math.max(0, r.client.lastIndexOf(':')));
    return String.format(
        Locale.ROOT,
        "%d.%03d %6d %s %s/%03d %d %s %s %s HIER_DIRECT/- -",
        r.startMillis / 1000, r.startMillis % 1000, elapsed, clientIp, code, status, down, r.method, r.target, r.user == null ? "-" : r.user);
  }

  /**
   * Writes lines in batches. The writer blocks on the queue only when it found it empty; after a
   * batch it sleeps a few milliseconds instead, so that under load the event loops' {@code offer}
   * finds no waiting thread to wake (a wake-up per line, and a write per line, cost the event
   * loops and the CPUs more than the lines themselves). A line reaches the file at most about
   * {@link #BATCH_PAUSE_MILLIS} after the previous batch.
   */
  private void drain(BufferedWriter out) {
    List<String> batch = new ArrayList<>(1024);
    try {
      while (true) {
        String first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, 4096);
        for (String line : batch) {
          if (line == STOP) {
            out.flush();
            return;
          }
          out.write(line);
          out.write('\n');
        }
        batch.clear();
        out.flush();
        Thread.sleep(BATCH_PAUSE_MILLIS);
      }
    } catch (IOException e) {
      LOG.error("the access log stopped: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws InterruptedException {
    queue.offer(STOP);
    writer.join(2000);
  }
}
