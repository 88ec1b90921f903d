package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Cluster;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a cluster does when a node dies (kill -9) or drains. */
class ClusterFailureTest {
  static final List<String> HAZELCAST_JVM_ARGS = List.of(
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
      "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED");

  static Vertx vertx;
  static Origin origin;
  static Cluster cluster;
  static Node first;
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    cluster = new Cluster(3);
    first = TestNodes.start(cluster.config(0, "first", dir.resolve("first"), List.of(origin.echoPort())));
    ClusterTest.hash = dev.tollgate.ingress.auth.PasswordHashes.hash("s3cret".toCharArray());
    Control.Reply r = new Control(first).put("/v1/policy", ClusterTest.policy(2, 0));
    assertEquals(200, r.status(), r.body().encode());
  }

  @AfterAll
  static void stop() {
    Await.result(first.stop());
    origin.close();
    Await.result(vertx.close());
  }

  private static int connect(int port) throws IOException {
    try (Raw raw = new Raw(port)) {
      return Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + ClusterTest.auth("alice") + "\r\n").readHead());
    }
  }

  private static JsonObject member(String name) throws Exception {
    for (Object m : new Control(first).get("/v1/cluster").body().getJsonArray("members")) {
      if (((JsonObject) m).getString("name").equals(name)) {
        return (JsonObject) m;
      }
    }
    return null;
  }

  @Test
  void aKilledNodeGivesBackWhatItHeld() throws Exception {
    Path config = dir.resolve("forked.yaml");
    Files.writeString(config, """
        proxy: {listen: "127.0.0.1:0"}
        control: {listen: "127.0.0.1:0"}
        node: {name: forked, dataDir: "%s"}
        network: {allowPrivate: ["127.0.0.0/8"], connectPorts: [%d]}
        cluster: {enabled: true, listen: "127.0.0.1:%d", members: ["127.0.0.1:%d", "127.0.0.1:%d"]}
        """.formatted(dir.resolve("forked-data"), origin.echoPort(), cluster.port(1), cluster.port(0), cluster.port(1)));
    List<Raw> held = new ArrayList<>();
    try (ForkedNode forked = ForkedNode.start(HAZELCAST_JVM_ARGS, List.of("--config", config.toString()))) {
      int port = forked.awaitReady();
      ClusterTest.await(() -> {
        try {
          JsonObject m = member("forked");
          return m != null && m.getInteger("policyVersion") == first.policy().version();
        } catch (Exception e) {
          return false;
        }
      }, "the forked node runs the cluster's policy");
      for (int i = 0; i < 2; i++) {
        Raw raw = new Raw(port);
        held.add(raw);
        assertEquals(200, Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + ClusterTest.auth("alice") + "\r\n").readHead()));
      }
      ClusterTest.await(() -> statusOr(first.proxyPort()) == 429, "the first node counts the forked node's two tunnels");
      forked.process().destroyForcibly(); // kill -9
      long killed = System.nanoTime();
      forked.process().waitFor();
      // Until the dead node drops out of the member list, listings say they are partial and name it.
      Control.Reply listing = new Control(first).get("/v1/tunnels");
      assertEquals(200, listing.status());
      if (listing.body().getBoolean("partial")) {
        assertTrue(listing.body().getJsonObject("missing").containsKey("forked"), listing.body().encode());
      } else {
        assertTrue((System.nanoTime() - killed) / 1e9 > 3, "a dead node is either named missing or already gone: " + listing.body().encode());
      }
      ClusterTest.await(() -> statusOr(first.proxyPort()) == 200, "the killed node's slots are free");
      System.out.printf("a kill -9'ed node's tunnel slots were free again after %.1f s%n", (System.nanoTime() - killed) / 1e9);
    } finally {
      for (Raw r : held) {
        r.close();
      }
    }
  }

  private static int statusOr(int port) {
    try {
      return connect(port);
    } catch (IOException e) {
      return -1;
    }
  }

  @Test
  void aDrainingNodeStopsAcceptingLetsTunnelsRunThenLeaves() throws Exception {
    JsonObject c = cluster.config(2, "drainer", dir.resolve("drainer"), List.of(origin.echoPort()));
    c.getJsonObject("node").put("drainTimeout", "2s");
    Node drainer = TestNodes.start(c);
    try {
      ClusterTest.await(() -> drainer.policy().version() == first.policy().version(), "the drainer runs the policy");
      Control control = new Control(drainer);
      try (Raw tunnel = new Raw(drainer.proxyPort())) {
        assertEquals(200, Raw.status(tunnel.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + ClusterTest.auth("alice") + "\r\n").readHead()));
        assertEquals(202, control.post("/v1/drain").status());
        assertEquals(503, control.get("/readyz").status(), "not ready at once");
        ClusterTest.await(() -> {
          try (Raw refused = new Raw(drainer.proxyPort())) {
            return refused.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\n\r\n").closedByPeer();
          } catch (IOException e) {
            return true; // refused
          }
        }, "the proxy listener stops accepting");
        assertEquals("draining", member("drainer").getString("state"));
        tunnel.send("still relayed");
        assertEquals("still relayed", new String(tunnel.readN(13), StandardCharsets.UTF_8), "an open tunnel runs on while draining");
        Await.result(drainer.drained());
        assertTrue(tunnel.closedByPeer(), "closed at the drain timeout");
      }
      ClusterTest.awaitQuietly(() -> member("drainer") == null, "the drained node left the member list");
      assertEquals(200, new Control(first).get("/readyz").status(), "the others stay ready");
    } finally {
      Await.result(drainer.stop());
    }
  }
}
