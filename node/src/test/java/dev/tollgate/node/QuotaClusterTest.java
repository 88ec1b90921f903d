package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Cluster;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas over real Hazelcast members: usage summed over nodes, a byte quota spread over two nodes
 * with its measured overshoot, a reset anywhere, a full-cluster restart, and a kill -9'ed node.
 */
class QuotaClusterTest {
  static final long QUOTA = 10L << 20;
  static final long RATE = 2L << 20;
  static Vertx vertx;
  static Origin origin;
  static Cluster cluster;
  static final List<Node> nodes = new ArrayList<>();
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ClusterTest.hash = dev.tollgate.ingress.auth.PasswordHashes.hash("s3cret".toCharArray());
    cluster = new Cluster(3);
    for (int i = 0; i < 2; i++) {
      nodes.add(TestNodes.start(config(i)));
    }
    Control.Reply r = control(0).put("/v1/policy", policy());
    assertEquals(200, r.status(), r.body().encode());
    int v = r.body().getInteger("version");
    ClusterTest.await(() -> nodes.stream().allMatch(n -> n.policy().version() == v), "both nodes on the quota policy");
  }

  @AfterAll
  static void stop() {
    nodes.forEach(n -> Await.result(n.stop()));
    origin.close();
    Await.result(vertx.close());
  }

  static JsonObject config(int i) {
    return cluster.config(i, "q" + i, dir.resolve("q" + i), List.of(origin.echoPort()));
  }

  static Control control(int i) {
    return new Control(nodes.get(i));
  }

  /** alice: 20 requests a day; bob: 10 MiB a day at 2 MiB/s (cluster-wide); carol, dave: counted only. */
  static JsonObject policy() {
    JsonObject users = new JsonObject();
    for (String u : new String[] {"alice", "bob", "carol", "dave"}) {
      users.put(u, ClusterTest.hash);
    }
    return new JsonObject()
        .put("auth", new JsonObject().put("required", true).put("users", users))
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("limits", new JsonObject().put("users", new JsonObject().put("bob", new JsonObject().put("bytesPerSecond", RATE))))
        .put("quotas", new JsonObject().put("users", new JsonObject()
            .put("alice", new JsonObject().put("requests", new JsonObject().put("perDay", 20)))
            .put("bob", new JsonObject().put("bytes", new JsonObject().put("perDay", QUOTA)))));
  }

  /** A forwarded GET of {@code path} through the proxy at {@code port}; returns the status and adds the body length to {@code received}. */
  static int get(int port, String user, String path, AtomicLong received) throws IOException {
    try (Raw raw = new Raw(port)) {
      raw.timeout(30_000);
      String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + ClusterTest.auth(user) + "Connection: close\r\n\r\n").readHead();
      int body = raw.readToClose().length();
      if (received != null && Raw.status(head) == 200) {
        received.addAndGet(body);
      }
      return Raw.status(head);
    }
  }

  static long usage(int node, String user, String what) throws Exception {
    return control(node).get("/v1/usage/" + user).body().getJsonObject("day").getLong(what);
  }

  static void awaitUsage(int node, String user, String what, long expected) throws InterruptedException {
    ClusterTest.awaitQuietly(() -> usage(node, user, what) == expected, "q" + node + " sees " + user + "'s " + what + " = " + expected);
  }

  @Test
  void aRequestQuotaIsTheSumOverNodesAndAResetOnAnyNodeAppliesEverywhere() throws Exception {
    for (int i = 0; i < 10; i++) {
      assertEquals(200, get(nodes.get(0).proxyPort(), "alice", "/hello", null));
    }
    awaitUsage(1, "alice", "requests", 10); // within a second
    for (int i = 0; i < 10; i++) {
      assertEquals(200, get(nodes.get(1).proxyPort(), "alice", "/hello", null));
    }
    assertEquals(429, get(nodes.get(1).proxyPort(), "alice", "/hello", null));
    ClusterTest.awaitQuietly(() -> get(nodes.get(0).proxyPort(), "alice", "/hello", null) == 429, "q0 refuses alice's 21st request");

    Control.Reply reset = control(1).delete("/v1/usage/alice");
    assertEquals(200, reset.status(), reset.body().encode());
    ClusterTest.awaitQuietly(() -> get(nodes.get(0).proxyPort(), "alice", "/hello", null) == 200, "q0 lets alice through after the reset on q1");
    awaitUsage(1, "alice", "requests", 1);
  }

  @Test
  void aByteQuotaSpreadOverTwoNodesStopsTheUserWithinTheStatedBound() throws Exception {
    AtomicLong received = new AtomicLong();
    List<CompletableFuture<Void>> clients = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      int port = nodes.get(i).proxyPort();
      clients.add(CompletableFuture.runAsync(() -> {
        try {
          while (get(port, "bob", "/bytes?n=131072", received) == 200) {
            // keep downloading until the quota says no
          }
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      }));
    }
    CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get();
    Thread.sleep(1200); // one more sync round: the last counts of both nodes are in
    long used = usage(0, "bob", "bytes");
    assertEquals(used, usage(1, "bob", "bytes"), "both nodes agree on the total");
    long overshoot = used - QUOTA;
    System.out.printf("byte quota 10 MiB over two nodes at 2 MiB/s: used %d bytes, overshoot %d bytes (%.2f s of traffic)%n",
        used, overshoot, overshoot / (double) RATE);
    assertTrue(received.get() >= QUOTA - 2 * 131072, "bob got his quota: " + received.get());
    // The bound: what the other node let through in one sync round trip (1 s at the user's rate), plus a response in flight per node.
    assertTrue(used <= QUOTA + RATE + 2 * 131072, "overshoot " + overshoot + " bytes is within one second of traffic");
    assertEquals(429, get(nodes.get(0).proxyPort(), "bob", "/hello", null));
    assertEquals(429, get(nodes.get(1).proxyPort(), "bob", "/hello", null));
  }

  @Test
  void usageSurvivesAFullClusterRestart() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(200, get(nodes.get(0).proxyPort(), "carol", "/hello", null));
    }
    for (int i = 0; i < 2; i++) {
      assertEquals(200, get(nodes.get(1).proxyPort(), "carol", "/hello", null));
    }
    awaitUsage(0, "carol", "requests", 5);
    awaitUsage(1, "carol", "requests", 5);
    Thread.sleep(600); // the last sync round is saved to disk
    for (Node n : nodes) {
      Await.result(n.stop());
    }
    nodes.clear();
    for (int i = 0; i < 2; i++) {
      nodes.add(TestNodes.start(config(i)));
    }
    assertEquals(5, usage(0, "carol", "requests"), "restored at start");
    awaitUsage(1, "carol", "requests", 5);
    assertEquals(200, get(nodes.get(1).proxyPort(), "carol", "/hello", null));
    awaitUsage(0, "carol", "requests", 6);
  }

  @Test
  void aKilledNodesCountsAreKeptByTheCluster() throws Exception {
    Path config = dir.resolve("forked.yaml");
    Files.writeString(config, """
        proxy: {listen: "127.0.0.1:0"}
        control: {listen: "127.0.0.1:0"}
        node: {name: forked, dataDir: "%s"}
        network: {allowPrivate: ["127.0.0.0/8"], connectPorts: [%d]}
        cluster: {enabled: true, listen: "127.0.0.1:%d", members: ["127.0.0.1:%d", "127.0.0.1:%d", "127.0.0.1:%d"]}
        """.formatted(dir.resolve("forked-data"), origin.echoPort(), cluster.port(2), cluster.port(0), cluster.port(1), cluster.port(2)));
    try (ForkedNode forked = ForkedNode.start(ClusterFailureTest.HAZELCAST_JVM_ARGS, List.of("--config", config.toString()))) {
      int port = forked.awaitReady();
      int version = nodes.get(0).policy().version();
      ClusterTest.awaitQuietly(() -> control(0).get("/v1/cluster").body().getJsonArray("members").stream()
          .anyMatch(m -> "forked".equals(((JsonObject) m).getString("name")) && ((JsonObject) m).getInteger("policyVersion") == version),
          "the forked node runs the cluster's policy");
      for (int i = 0; i < 7; i++) {
        assertEquals(200, get(port, "dave", "/hello", null));
      }
      awaitUsage(0, "dave", "requests", 7);
      forked.process().destroyForcibly(); // kill -9
      forked.process().waitFor();
      ClusterTest.await(() -> {
        try {
          return control(0).get("/v1/cluster").body().getJsonArray("members").stream()
              .noneMatch(m -> "forked".equals(((JsonObject) m).getString("name")));
        } catch (Exception e) {
          return false;
        }
      }, "the killed node has left the member list");
      assertEquals(7, usage(0, "dave", "requests"), "its counts stay in the cluster's map");
      assertEquals(7, usage(1, "dave", "requests"));
    }
  }
}
