package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.auth.PasswordHashes;
import dev.tollgate.node.fixtures.Cluster;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real Hazelcast members in this JVM (each node its own Vert.x and Hazelcast instance on
 * loopback): one policy, limits that hold over all of them, tunnels listed and closed anywhere.
 */
class ClusterTest {
  static Vertx vertx;
  static Origin origin;
  static Cluster cluster;
  static final List<Node> nodes = new ArrayList<>();
  static String hash;
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    hash = PasswordHashes.hash("s3cret".toCharArray());
    cluster = new Cluster(4);
    for (int i = 0; i < 3; i++) {
      nodes.add(TestNodes.start(cluster.config(i, "n" + i, dir.resolve("n" + i), List.of(origin.echoPort()))));
    }
    put(0, policy(4, 0));
  }

  @AfterAll
  static void stop() {
    nodes.forEach(n -> Await.result(n.stop()));
    origin.close();
    Await.result(vertx.close());
  }

  static Node node(int i) {
    return nodes.get(i);
  }

  static Control control(int i) {
    return new Control(node(i));
  }

  /** alice: maxTunnels; carol: requests a second (burst the same); dora: 200 kB/s; auth required. */
  static JsonObject policy(int aliceTunnels, int carolRate) {
    JsonObject users = new JsonObject().put("alice", hash).put("carol", hash).put("dora", hash);
    JsonObject limits = new JsonObject()
        .put("alice", new JsonObject().put("maxTunnels", aliceTunnels))
        .put("dora", new JsonObject().put("bytesPerSecond", 200_000));
    if (carolRate > 0) {
      limits.put("carol", new JsonObject().put("requestsPerSecond", carolRate).put("burst", carolRate));
    }
    return new JsonObject()
        .put("auth", new JsonObject().put("required", true).put("users", users))
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("enforceOnOpenTunnels", true)
        .put("limits", new JsonObject().put("users", limits));
  }

  /** PUTs on node {@code i} and waits until every running node runs the new version. */
  static int put(int i, JsonObject policy) throws Exception {
    Control.Reply r = control(i).put("/v1/policy", policy);
    assertEquals(200, r.status(), r.body().encode());
    int version = r.body().getInteger("version");
    await(() -> nodes.stream().allMatch(n -> n.policy().version() == version), "every node runs v" + version);
    return version;
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(5);
    }
  }

  /** {@link #await} for a condition that may throw while it is not yet true (a refused connection, say). */
  static void awaitQuietly(java.util.concurrent.Callable<Boolean> condition, String what) throws InterruptedException {
    await(() -> {
      try {
        return condition.call();
      } catch (Exception e) {
        return false;
      }
    }, what);
  }

  static String auth(String user) {
    return "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString((user + ":s3cret").getBytes(StandardCharsets.UTF_8)) + "\r\n";
  }

  /** A CONNECT to the echo origin through node {@code i}; returns the status and leaves {@code raw} open. */
  static int connect(Raw raw, String user) throws Exception {
    return Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + auth(user) + "\r\n").readHead());
  }

  static Raw tunnel(int i, String user) throws Exception {
    Raw raw = new Raw(node(i).proxyPort());
    assertEquals(200, connect(raw, user), "tunnel through n" + i);
    return raw;
  }

  static int tunnelStatus(int i, String user) throws Exception {
    try (Raw raw = new Raw(node(i).proxyPort())) {
      return connect(raw, user);
    }
  }

  @Test
  void membersAndPolicyVersionsAreListedByEveryNode() throws Exception {
    Control.Reply r = control(2).get("/v1/cluster");
    assertEquals(200, r.status());
    JsonArray members = r.body().getJsonArray("members");
    assertTrue(members.size() >= 3, r.body().encode());
    assertFalse(r.body().getBoolean("partial"));
    assertFalse(r.body().getBoolean("policyDiverged"), r.body().encode());
    for (Object m : members) {
      JsonObject member = (JsonObject) m;
      assertEquals("ready", member.getString("state"), member.encode());
      assertEquals(node(0).policy().version(), member.getInteger("policyVersion"));
      assertTrue(member.containsKey("uptimeSeconds") && member.containsKey("cluster") && member.containsKey("proxy"), member.encode());
    }
  }

  @Test
  void aPolicyPutOnAnyNodeIsAppliedByAllAndMeasured() throws Exception {
    List<Long> micros = new ArrayList<>();
    for (int round = 0; round < 30; round++) {
      long t0 = System.nanoTime();
      Control.Reply r = control(round % 3).put("/v1/policy", policy(4, 0).put("default", "allow"));
      assertEquals(200, r.status(), r.body().encode());
      int v = r.body().getInteger("version");
      await(() -> nodes.stream().allMatch(n -> n.policy().version() == v), "all on v" + v);
      micros.add((System.nanoTime() - t0) / 1000);
    }
    Collections.sort(micros);
    // Measured, not asserted: the README reports it (PUT answered + every node serving the version).
    System.out.printf("policy propagation, PUT to all 3 nodes serving it (30 rounds): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
        micros.get(14) / 1000.0, micros.get(29) / 1000.0, micros.get(29) / 1000.0);
    Control.Reply history = control(1).get("/v1/policy/history");
    assertEquals(node(0).policy().version(), history.body().getInteger("current"), "the same numbering on every node");
  }

  @Test
  void aNodeThatJoinsLaterComesUpWithTheCurrentVersion() throws Exception {
    int version = put(1, policy(4, 0));
    Node late = TestNodes.start(cluster.config(3, "late", dir.resolve("late"), List.of(origin.echoPort())));
    try {
      assertEquals(version, late.policy().version(), "the late node starts on the cluster's version");
      assertEquals(200, tunnelStatusThrough(late, "alice"));
    } finally {
      Await.result(late.stop());
    }
  }

  private static int tunnelStatusThrough(Node n, String user) throws Exception {
    try (Raw raw = new Raw(n.proxyPort())) {
      return connect(raw, user);
    }
  }

  @Test
  void maxTunnelsIsTheTotalOverAllNodesAndTunnelsAreListedAndClosedAnywhere() throws Exception {
    put(0, policy(4, 0));
    List<Raw> open = new ArrayList<>();
    try {
      open.add(tunnel(0, "alice"));
      open.add(tunnel(0, "alice"));
      open.add(tunnel(1, "alice"));
      open.add(tunnel(1, "alice"));
      for (int i = 0; i < 3; i++) {
        int node = i;
        // The others' reports arrive within milliseconds; the fifth is refused on every node.
        awaitQuietly(() -> tunnelStatus(node, "alice") == 429, "n" + node + " refuses alice's fifth tunnel");
      }

      Control.Reply listing = control(2).get("/v1/tunnels?user=alice");
      JsonArray tunnels = listing.body().getJsonArray("tunnels");
      assertEquals(4, tunnels.size(), listing.body().encode());
      assertFalse(listing.body().getBoolean("partial"));
      assertEquals(2, tunnels.stream().filter(t -> ((JsonObject) t).getString("node").equals("n0")).count());
      assertEquals(2, tunnels.stream().filter(t -> ((JsonObject) t).getString("node").equals("n1")).count());

      String onN0 = tunnels.stream().map(t -> (JsonObject) t).filter(t -> t.getString("node").equals("n0")).findFirst().orElseThrow().getString("id");
      Control.Reply killed = control(2).delete("/v1/tunnels/" + onN0);
      assertEquals(200, killed.status(), killed.body().encode());
      assertEquals(1, killed.body().getInteger("killed"));
      assertEquals(404, control(2).delete("/v1/tunnels/" + onN0).status());
      await(() -> node(0).registry().size() == 1, "n0 closed the tunnel n2 was asked to");

      Control.Reply revoked = control(2).delete("/v1/tunnels?user=alice");
      assertEquals(200, revoked.status());
      assertEquals(3, revoked.body().getInteger("killed"), revoked.body().encode());
      await(() -> nodes.stream().allMatch(n -> n.registry().size() == 0), "alice's tunnels closed on every node");
      awaitQuietly(() -> tunnelStatus(2, "alice") == 200, "alice's slots free again");
    } finally {
      for (Raw r : open) {
        r.close();
      }
    }
  }

  @Test
  void aLoweredMaxTunnelsClosesTheNewestTunnelsClusterWide() throws Exception {
    put(0, policy(4, 0));
    List<Raw> open = new ArrayList<>();
    try {
      open.add(tunnel(0, "alice")); // the oldest: it stays
      Thread.sleep(20);
      open.add(tunnel(1, "alice"));
      Thread.sleep(20);
      open.add(tunnel(0, "alice"));
      Thread.sleep(20);
      open.add(tunnel(2, "alice"));
      put(1, policy(1, 0));
      await(() -> nodes.stream().mapToInt(n -> n.registry().size()).sum() == 1, "one tunnel left in the cluster");
      assertEquals(1, node(0).registry().size(), "the oldest, on n0, survives");
      open.get(0).send("still here");
      assertEquals("still here", new String(open.get(0).readN(10), StandardCharsets.UTF_8));
    } finally {
      for (Raw r : open) {
        r.close();
      }
      put(0, policy(4, 0));
      await(() -> nodes.stream().allMatch(n -> n.registry().size() == 0), "closed");
    }
  }

  /** One request through a node; counts what it measures when {@code inWindow} says so. */
  interface Exchange {
    void run(Raw raw, java.util.function.BooleanSupplier inWindow) throws Exception;
  }

  /**
   * Two clients, one on n0 and one on n1, each repeating {@code exchange} on fresh connections
   * for a 2 s warm-up and then a 10 s window ({@code inWindow} is true inside it).
   */
  static void hammerTwoNodes(Exchange exchange) throws InterruptedException {
    long warmUpEnd = System.nanoTime() + 2_000_000_000L;
    long end = warmUpEnd + 10_000_000_000L;
    java.util.function.BooleanSupplier inWindow = () -> {
      long now = System.nanoTime();
      return now > warmUpEnd && now < end;
    };
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      int n = i;
      Thread t = new Thread(() -> {
        while (System.nanoTime() < end) {
          try (Raw raw = new Raw(node(n).proxyPort())) {
            raw.timeout(15_000);
            exchange.run(raw, inWindow);
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  @Test
  void theRequestRateHoldsOverAllNodes() throws Exception {
    int rate = 20;
    put(2, policy(4, rate));
    AtomicInteger allowed = new AtomicInteger();
    AtomicInteger limited = new AtomicInteger();
    hammerTwoNodes((raw, inWindow) -> {
      int status = Raw.status(raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\n" + auth("carol") + "Connection: close\r\n\r\n").readHead());
      if (inWindow.getAsBoolean()) {
        (status == 429 ? limited : allowed).incrementAndGet();
      }
    });
    int expected = rate * 10;
    System.out.printf("cluster-wide rate limit %d/s over two nodes, 10 s window: %d allowed (%.1f%% of %d), %d refused%n",
        rate, allowed.get(), 100.0 * allowed.get() / expected, expected, limited.get());
    assertTrue(limited.get() > allowed.get(), "both nodes were pushed past the limit");
    assertTrue(allowed.get() >= expected * 0.9 && allowed.get() <= expected * 1.1, "within 10% of " + expected + ": " + allowed.get());
  }

  @Test
  void theByteRateHoldsOverAllNodes() throws Exception {
    put(0, policy(4, 0));
    java.util.concurrent.atomic.AtomicLong counted = new java.util.concurrent.atomic.AtomicLong();
    hammerTwoNodes((raw, inWindow) -> {
      String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/bytes?n=20000 HTTP/1.1\r\nHost: x\r\n" + auth("dora") + "Connection: close\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head), head);
      byte[] buffer = new byte[8192];
      int r;
      while ((r = raw.in().read(buffer)) > 0) {
        if (inWindow.getAsBoolean()) {
          counted.addAndGet(r);
        }
      }
    });
    long expected = 200_000L * 10;
    System.out.printf("cluster-wide byte rate 200 kB/s over two nodes, 10 s window: %d bytes (%.1f%% of %d)%n",
        counted.get(), 100.0 * counted.get() / expected, expected);
    assertTrue(counted.get() >= expected * 0.9 && counted.get() <= expected * 1.1, "within 10% of " + expected + ": " + counted.get());
  }

  @Test
  void everyNodeMintsFromTheClustersOneCa() throws Exception {
    String first = control(0).get("/v1/ca.pem").body().getString("text");
    assertTrue(first.startsWith("-----BEGIN CERTIFICATE-----"), first);
    for (int i = 0; i < 3; i++) {
      assertEquals(first, control(i).get("/v1/ca.pem").body().getString("text"), "n" + i + " serves the same CA");
      assertEquals(first, java.nio.file.Files.readString(dir.resolve("n" + i).resolve("ca.pem")), "n" + i + " keeps a copy on disk");
    }
  }
}
