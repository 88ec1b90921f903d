package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Capacity guards: tunnels per node (503, /readyz full), connections per client address (429), the memory guard (503). */
class CapacityTest {
  static Vertx vertx;
  static Origin origin;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
  }

  @AfterAll
  static void stop() {
    origin.close();
    Await.result(vertx.close());
  }

  static Node node(Path dir, JsonObject limits) {
    JsonObject config = TestNodes.config(dir, List.of(origin.echoPort()));
    config.put("limits", limits);
    return TestNodes.start(config);
  }

  static String connect(Raw raw) throws Exception {
    return raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
  }

  static String get(Node node) throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      return raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readHead();
    }
  }

  @Test
  void aFullNodeRefusesTunnelsWith503AndSaysSoOnReadyz(@TempDir Path dir) throws Exception {
    Node node = node(dir, new JsonObject().put("maxTunnelsPerNode", 2));
    List<Raw> open = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        Raw raw = new Raw(node.proxyPort());
        open.add(raw);
        assertEquals(200, Raw.status(connect(raw)));
      }
      try (Raw third = new Raw(node.proxyPort())) {
        String head = connect(third);
        assertEquals(503, Raw.status(head), head);
        assertEquals("1", ForwardTest.header(head, "retry-after"));
        assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("node full"), head);
      }
      Control.Reply ready = new Control(node).get("/readyz");
      assertEquals(503, ready.status());
      assertEquals("full", ready.body().getString("status"));
      assertEquals(200, Raw.status(get(node)), "forwarded requests are still served");
      open.remove(0).close();
      ClusterTest.awaitQuietly(() -> new Control(node).get("/readyz").status() == 200, "ready again once a tunnel closed");
    } finally {
      for (Raw r : open) {
        r.close();
      }
      Await.result(node.stop());
    }
  }

  @Test
  void thePolicyCanSetTheNodeCapsAndReplacesTheConfigs(@TempDir Path dir) throws Exception {
    Node node = node(dir, new JsonObject().put("maxTunnelsPerNode", 100));
    List<Raw> open = new ArrayList<>();
    try {
      JsonObject policy = new JsonObject()
          .put("network", new JsonObject().put("allowPrivate", new io.vertx.core.json.JsonArray().add("127.0.0.0/8")))
          .put("limits", new JsonObject().put("maxTunnelsPerNode", 1));
      assertEquals(200, new Control(node).put("/v1/policy", policy).status());
      Raw first = new Raw(node.proxyPort());
      open.add(first);
      assertEquals(200, Raw.status(connect(first)));
      try (Raw second = new Raw(node.proxyPort())) {
        assertEquals(503, Raw.status(connect(second)), "the policy's cap of 1, not the config's 100");
      }
      Control.Reply bad = new Control(node).put("/v1/policy", policy.copy().put("limits", new JsonObject().put("maxTunnelsPerNode", -1)));
      assertEquals(400, bad.status());
      assertEquals("limits.maxTunnelsPerNode", bad.body().getString("path"));
      policy.getJsonObject("limits").remove("maxTunnelsPerNode");
      assertEquals(200, new Control(node).put("/v1/policy", policy).status());
      try (Raw second = new Raw(node.proxyPort())) {
        assertEquals(200, Raw.status(connect(second)), "back to the config's cap");
      }
    } finally {
      for (Raw r : open) {
        r.close();
      }
      Await.result(node.stop());
    }
  }

  @Test
  void oneClientAddressOverItsConnectionCapGets429(@TempDir Path dir) throws Exception {
    Node node = node(dir, new JsonObject().put("maxConnectionsPerClientAddress", 3));
    List<Raw> idle = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        idle.add(new Raw(node.proxyPort()));
      }
      ClusterTest.awaitQuietly(() -> Raw.status(get(node)) == 429, "a fourth connection from 127.0.0.1 gets 429");
      String head = get(node);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("too many connections"), head);
      idle.remove(0).close();
      ClusterTest.awaitQuietly(() -> Raw.status(get(node)) == 200, "served again once a connection closed");
    } finally {
      for (Raw r : idle) {
        r.close();
      }
      Await.result(node.stop());
    }
  }

  @Test
  void underMemoryPressureNewTunnelsGet503(@TempDir Path dir) throws Exception {
    // A guard at a millionth of the heap: any live heap after a collection is "pressure".
    Node node = node(dir, new JsonObject().put("memoryGuard", 0.000001));
    try {
      System.gc(); // a collection, so that "in use after the last collection" has a reading
      ClusterTest.await(() -> {
        try (Raw raw = new Raw(node.proxyPort())) {
          return Raw.status(connect(raw)) == 503;
        } catch (Exception e) {
          return false;
        }
      }, "new tunnels refused");
      String head = get(node);
      assertEquals(200, Raw.status(head), "forwarding goes on: only new tunnels are refused");
    } finally {
      Await.result(node.stop());
    }
  }

  /** Under the launcher's collector (Parallel) and under G1, which an operator may choose instead. */
  @ParameterizedTest
  @ValueSource(strings = {"-XX:+UseParallelGC", "-XX:+UseG1GC"})
  void aNodeOnASmallHeapRefusesNewTunnelsBeforeOpenOnesFail(String collector, @TempDir Path dir) throws Exception {
    Path config = dir.resolve("small.yaml");
    java.nio.file.Files.writeString(config, """
        proxy: {listen: "127.0.0.1:0"}
        control: {listen: "127.0.0.1:0"}
        node: {name: small, dataDir: "%s"}
        network: {allowPrivate: ["127.0.0.0/8"], connectPorts: [%d]}
        limits: {memoryGuard: 0.6}
        """.formatted(dir.resolve("data"), origin.echoPort()));
    List<Raw> open = new ArrayList<>();
    try (dev.tollgate.node.fixtures.ForkedNode small =
        dev.tollgate.node.fixtures.ForkedNode.start(List.of("-Xmx48m", collector), List.of("--config", config.toString()))) {
      int port = small.awaitReady();
      String refused = null;
      // Every open tunnel holds some heap; keep opening until the guard says no (or far past where it must).
      for (int i = 0; i < 6000 && refused == null; i++) {
        Raw raw = new Raw(port);
        String head = connect(raw);
        if (Raw.status(head) == 200) {
          open.add(raw);
        } else {
          refused = head;
          raw.close();
        }
      }
      System.out.printf("a node with -Xmx48m %s and memoryGuard 0.6 refused new tunnels after %d open%n", collector, open.size());
      assertEquals(503, Raw.status(refused), refused + "\n" + small.output());
      assertTrue(ForwardTest.header(refused, "x-tollgate-reason").contains("short of memory"), refused);
      for (Raw r : List.of(open.get(0), open.get(open.size() / 2), open.get(open.size() - 1))) {
        r.timeout(10_000).send("still here");
        assertEquals("still here", new String(r.readN(10), java.nio.charset.StandardCharsets.UTF_8), "open tunnels keep working");
      }
      assertTrue(small.process().isAlive(), "no OutOfMemoryError\n" + small.output());
    } finally {
      for (Raw r : open) {
        r.close();
      }
    }
  }
}
