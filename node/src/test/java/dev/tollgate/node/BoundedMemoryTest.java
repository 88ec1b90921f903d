package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 1 GiB download to a client that stops reading for a while, and a 1 GiB upload, through a
 * node whose heap is capped at 64 MiB: they only pass if bodies stream with backpressure.
 */
class BoundedMemoryTest {
  static final long GIB = 1L << 30;
  static Vertx vertx;
  static Origin origin;
  static ForkedNode node;
  static int port;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    node =
        ForkedNode.start(
            List.of("-Xmx64m", "-XX:MaxDirectMemorySize=64m"),
            List.of("--proxy-listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--data-dir", dir.toString(), "--allow-private", "127.0.0.0/8"));
    port = node.awaitReady();
  }

  @AfterAll
  static void stop() {
    node.close();
    origin.close();
    Await.result(vertx.close());
  }

  @Test
  void gigabyteDownloadToASlowReader() throws Exception {
    try (Raw raw = new Raw(port)) {
      raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/bytes?n=" + GIB + " HTTP/1.1\r\nHost: x\r\n\r\n");
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head + node.output());
      Thread.sleep(3000); // a reader that stalls: the proxy must stop reading upstream, not buffer
      assertEquals(GIB, drain(raw.in(), GIB));
    }
  }

  @Test
  void gigabyteUpload() throws Exception {
    try (Raw raw = new Raw(port)) {
      raw.send("POST http://127.0.0.1:" + origin.httpPort() + "/upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + GIB + "\r\n\r\n");
      sendZeros(raw.out(), GIB);
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head + node.output());
      String body = new String(raw.readN(Integer.parseInt(ForwardTest.header(head, "content-length"))), StandardCharsets.UTF_8);
      assertEquals(GIB, new JsonObject(body).getLong("bytes"));
    }
  }

  /** Writes {@code n} zero bytes (a multiple of 256 KiB). */
  static void sendZeros(java.io.OutputStream out, long n) throws java.io.IOException {
    byte[] chunk = new byte[256 * 1024];
    for (long sent = 0; sent < n; sent += chunk.length) {
      out.write(chunk);
    }
    out.flush();
  }

  /** Reads {@code expected} bytes (fewer when the stream ends first) and says how many came. */
  static long drain(InputStream in, long expected) throws Exception {
    byte[] buf = new byte[256 * 1024];
    long total = 0;
    while (total < expected) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, expected - total));
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }
}
