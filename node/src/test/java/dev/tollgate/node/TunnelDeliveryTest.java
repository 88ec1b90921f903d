package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tunnel whose upstream closes right behind its data delivers all of it, also to a reader that
 * keeps the proxy pausing (the close can arrive while bytes are still queued inside the proxy).
 */
class TunnelDeliveryTest {
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    Await.result(vertx.close());
  }

  private static Raw connect(Node n, String target) throws IOException {
    Raw raw = new Raw(n.proxyPort());
    raw.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    return raw;
  }

  @Test
  void whatTheUpstreamSentBeforeClosingIsDelivered(@TempDir Path dir) throws Exception {
    io.vertx.core.net.NetServer blaster =
        vertx.createNetServer().connectHandler(s -> s.end(Buffer.buffer(new byte[4 << 20])));
    Await.result(blaster.listen(0, "127.0.0.1"));
    try {
      JsonObject config = TestNodes.config(dir.resolve("c"), List.of(blaster.actualPort()));
      Node n = TestNodes.start(config);
      try (Raw raw = connect(n, "127.0.0.1:" + blaster.actualPort())) {
        assertEquals(200, Raw.status(raw.readHead()));
        Thread.sleep(300); // let the upstream close while its bytes are still queued
        assertEquals(4 << 20, raw.in().readAllBytes().length);
      } finally {
        Await.result(n.stop());
      }
    } finally {
      Await.result(blaster.close());
    }
  }

  @Test
  void aSlowReaderGetsEverythingTheUpstreamSentBeforeClosing(@TempDir Path dir) throws Exception {
    int size = 24 << 20;
    io.vertx.core.net.NetServer blaster =
        vertx.createNetServer().connectHandler(s -> {
          Buffer chunk = Buffer.buffer(new byte[64 * 1024]);
          int[] left = {size / chunk.length()};
          Runnable[] pump = new Runnable[1];
          pump[0] = () -> {
            while (left[0] > 0 && !s.writeQueueFull()) {
              s.write(chunk);
              left[0]--;
            }
            if (left[0] == 0) {
              s.end(); // close right behind the last bytes
            } else {
              s.drainHandler(v -> pump[0].run());
            }
          };
          pump[0].run();
        });
    Await.result(blaster.listen(0, "127.0.0.1"));
    Node n = TestNodes.start(TestNodes.config(dir.resolve("slow"), List.of(blaster.actualPort())));
    try {
      for (int round = 0; round < 4; round++) {
        try (Raw raw = connect(n, "127.0.0.1:" + blaster.actualPort())) {
          assertEquals(200, Raw.status(raw.readHead()));
          byte[] buf = new byte[32 * 1024];
          long total = 0;
          int reads = 0;
          int r;
          while ((r = raw.in().read(buf)) > 0) {
            total += r;
            if (++reads % 64 == 0) {
              Thread.sleep(2); // a reader slower than the upstream: the proxy keeps pausing it
            }
          }
          assertEquals(size, total, "round " + round + ": every byte before the upstream's close arrives");
        }
      }
    } finally {
      Await.result(n.stop());
      Await.result(blaster.close());
    }
  }

}
