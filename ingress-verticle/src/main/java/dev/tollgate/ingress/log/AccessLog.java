package dev.tollgate.ingress.log;

import dev.tollgate.common.metrics.ProxyMetrics;
import io.vertx.core.json.JsonObject;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per forwarded request and per tunnel, as JSON or in Squid's native access.log format.
 * Lines are formatted on the event loop and written by one thread of their own through a bounded
 * queue: an event loop never waits on the disk; under overload lines are dropped and counted.
 */
public final class AccessLog implements AutoCloseable {
  /** The line formats. */
  public enum Format {
    JSON,
    SQUID
  }

  private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
  private static final String STOP = "\u0000stop";

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
    BufferedWriter buffered = new BufferedWriter(out);
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

  String json(AccessRecord r, int status, long up, long down) {
    JsonObject o =
        new JsonObject()
            .put("time", Instant.ofEpochMilli(r.startMillis).toString())
            .put("node", node)
            .put("client", r.client)
            .put("user", r.user)
            .put("method", r.method)
            .put("target", r.target)
            .put("decision", r.decision == null ? null : r.decision.action().name().toLowerCase(Locale.ROOT))
            .put("rule", r.decision == null ? null : r.decision.ruleId())
            .put("status", status)
            .put("bytesUp", up)
            .put("bytesDown", down)
            .put("durationMs", (System.nanoTime() - r.startNanos) / 1_000_000);
    return o.encode();
  }

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

  private void drain(BufferedWriter out) {
    try {
      while (true) {
        String line = queue.poll(1, TimeUnit.SECONDS);
        if (line == null) {
          out.flush();
          continue;
        }
        if (line == STOP) {
          out.flush();
          return;
        }
        out.write(line);
        out.write('\n');
        if (queue.isEmpty()) {
          out.flush();
        }
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
