package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One access-log line per forwarded request and per tunnel, JSON or Squid's format. */
class AccessLogTest {

  private static JsonObject line(Path log, Predicate<JsonObject> which) throws Exception {
    for (int i = 0; i < 100; i++) {
      if (Files.exists(log)) {
        for (String l : Files.readAllLines(log)) {
          JsonObject o = new JsonObject(l);
          if (which.test(o)) {
            return o;
          }
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no such line in " + (Files.exists(log) ? Files.readString(log) : "(no file)"));
  }

  @Test
  void jsonLines(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    Origin origin = new Origin(vertx);
    Node node = TestNodes.start(TestNodes.config(dir, List.of(origin.echoPort())));
    Path log = dir.resolve("access.log");
    try {
      try (Raw raw = new Raw(node.proxyPort())) {
        raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readToClose();
      }
      JsonObject ok = line(log, o -> o.getString("target").endsWith("/hello"));
      assertEquals(200, ok.getInteger("status"));
      assertEquals("GET", ok.getString("method"));
      assertEquals("allow_forward", ok.getString("decision"));
      assertEquals(5, ok.getLong("bytesDown"));
      assertEquals("test-node", ok.getString("node"));
      assertTrue(ok.getString("client").startsWith("127.0.0.1:"));

      try (Raw raw = new Raw(node.proxyPort())) {
        raw.send("CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      }
      assertEquals(403, line(log, o -> o.getString("target").equals("127.0.0.1:25")).getInteger("status"));

      try (Raw raw = new Raw(node.proxyPort())) {
        raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
        raw.send("abc");
        raw.readN(3);
      }
      JsonObject tunnel = line(log, o -> o.getString("method").equals("CONNECT") && o.getInteger("status") == 200);
      assertEquals(3, tunnel.getLong("bytesUp"));
      assertEquals(3, tunnel.getLong("bytesDown"));
      assertEquals("allow_tunnel", tunnel.getString("decision"));
    } finally {
      Await.result(node.stop());
      origin.close();
      Await.result(vertx.close());
    }
  }

  @Test
  void squidFormat(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    Origin origin = new Origin(vertx);
    JsonObject config = TestNodes.config(dir, List.of());
    config.getJsonObject("accessLog").put("format", "squid");
    Node node = TestNodes.start(config);
    try {
      try (Raw raw = new Raw(node.proxyPort())) {
        raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readToClose();
      }
      Path log = dir.resolve("access.log");
      String line = null;
      for (int i = 0; i < 100 && line == null; i++) {
        line = Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.contains("/hello")).findFirst().orElse(null) : null;
        Thread.sleep(50);
      }
      assertTrue(line != null && line.matches("\\d+\\.\\d{3} +\\d+ 127\\.0\\.0\\.1 TCP_MISS/200 5 GET http://127\\.0\\.0\\.1:\\d+/hello - HIER_DIRECT/- -"), line);
    } finally {
      Await.result(node.stop());
      origin.close();
      Await.result(vertx.close());
    }
  }
}
