package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.auth.PasswordHashes;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy in force decides every request: 407, 403 naming the rule, and private networks it allows. */
class PolicyEnforcementTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static String hash;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    hash = PasswordHashes.hash("s3cret".toCharArray());
    JsonObject config = TestNodes.config(dir, List.of(origin.echoPort(), origin.httpPort()));
    config.getJsonObject("network").remove("allowPrivate"); // loopback only through the policy
    node = TestNodes.start(config);
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
  }

  private static void putPolicy(JsonObject policy) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/v1/policy"))
                    .header("authorization", "Bearer " + node.controlToken())
                    .header("content-type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(policy.encode()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
  }

  private static JsonObject policy(boolean authRequired) {
    JsonObject auth = new JsonObject().put("required", authRequired).put("realm", "Test Realm").put("users", new JsonObject().put("alice", hash));
    return new JsonObject()
        .put("auth", auth)
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("rules", new JsonArray()
            .add(new JsonObject().put("id", "no-echo-for-alice").put("action", "deny").put("hosts", new JsonArray().add("127.0.0.1")).put("ports", new JsonArray().add(origin.echoPort())).put("users", new JsonArray().add("alice")))
            .add(new JsonObject().put("id", "blocked-names").put("action", "deny").put("hosts", new JsonArray().add("*.blocked.test"))))
        .put("default", "allow");
  }

  private static String basic(String userPass) {
    return "Basic " + Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8));
  }

  private static String get(String extraHeaders) throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      return raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\n" + extraHeaders + "Connection: close\r\n\r\n").readHead();
    }
  }

  @Test
  void policyDecidesEveryRequest() throws Exception {
    putPolicy(policy(false));
    assertEquals(200, Raw.status(get("")), "the policy's allowPrivate lets loopback through at once");

    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: " + basic("alice:s3cret") + "\r\n\r\n").readHead();
      assertEquals(403, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("no-echo-for-alice"), head);
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("CONNECT 0x7f000001:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: " + basic("alice:s3cret") + "\r\n\r\n").readHead();
      assertEquals(403, Raw.status(head), "an odd encoding of 127.0.0.1 meets the same rule: " + head);
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head), "anonymous users are not alice: " + head);
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET http://www.Blocked.Test/ HTTP/1.1\r\nHost: x\r\n\r\n").readHead();
      assertEquals(403, Raw.status(head), head);
      assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("blocked-names"), head);
    }
  }

  @Test
  void authenticationRequired() throws Exception {
    putPolicy(policy(true));
    String head = get("");
    assertEquals(407, Raw.status(head), head);
    assertEquals("Basic realm=\"Test Realm\"", ForwardTest.header(head, "proxy-authenticate"));
    assertEquals(407, Raw.status(get("Proxy-Authorization: " + basic("alice:wrong") + "\r\n")));
    assertEquals(407, Raw.status(get("Proxy-Authorization: " + basic("mallory:s3cret") + "\r\n")));
    assertEquals(200, Raw.status(get("Proxy-Authorization: " + basic("alice:s3cret") + "\r\n")));
    assertEquals(200, Raw.status(get("Proxy-Authorization: " + basic("alice:s3cret") + "\r\n")), "again, from the cache");

    String url = "http://127.0.0.1:" + origin.httpPort() + "/hello";
    String proxy = "127.0.0.1:" + node.proxyPort();
    assertEquals("hello", curl(0, "--proxy-user", "alice:s3cret", "-x", proxy, url));
    assertEquals("407", curl(0, "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, url));
    assertEquals("hello", curl(0, "-p", "--proxy-user", "alice:s3cret", "-x", proxy, url), "CONNECT with credentials");
    putPolicy(policy(false));
  }

  private static JsonObject limitsPolicy() {
    JsonObject users = new JsonObject().put("alice", hash).put("carol", hash).put("dave", hash).put("frank", hash);
    return new JsonObject()
        .put("auth", new JsonObject().put("required", true).put("users", users))
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("limits", new JsonObject()
            .put("users", new JsonObject()
                .put("alice", new JsonObject().put("maxTunnels", 2))
                .put("carol", new JsonObject().put("requestsPerSecond", 1).put("burst", 2))
                .put("dave", new JsonObject().put("bytesPerSecond", 64 * 1024))
                .put("frank", new JsonObject().put("bytesPerSecond", 128 * 1024))));
  }

  @Test
  void limitsAnswer429WithRetryAfter() throws Exception {
    putPolicy(limitsPolicy());
    String alice = "Proxy-Authorization: " + basic("alice:s3cret") + "\r\n";
    String target = "127.0.0.1:" + origin.echoPort();
    Raw first = new Raw(node.proxyPort());
    Raw second = new Raw(node.proxyPort());
    try {
      assertEquals(200, Raw.status(first.send("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n" + alice + "\r\n").readHead()));
      assertEquals(200, Raw.status(second.send("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n" + alice + "\r\n").readHead()));
      try (Raw third = new Raw(node.proxyPort())) {
        String head = third.send("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n" + alice + "\r\n").readHead();
        assertEquals(429, Raw.status(head), head);
        assertEquals("1", ForwardTest.header(head, "retry-after"));
        assertTrue(ForwardTest.header(head, "x-tollgate-reason").contains("tunnel limit"), head);
      }
    } finally {
      first.close();
    }
    // The closed tunnel gives its slot back (released once both sides are closed).
    boolean reopened = false;
    for (int i = 0; i < 100 && !reopened; i++) {
      try (Raw again = new Raw(node.proxyPort())) {
        reopened = Raw.status(again.send("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n" + alice + "\r\n").readHead()) == 200;
      }
      if (!reopened) {
        Thread.sleep(50);
      }
    }
    second.close();
    assertTrue(reopened, "a slot comes back when a tunnel closes");

    String carol = "Proxy-Authorization: " + basic("carol:s3cret") + "\r\n";
    int[] statuses = new int[3];
    for (int i = 0; i < 3; i++) {
      statuses[i] = Raw.status(get(carol));
    }
    assertEquals(200, statuses[0]);
    assertEquals(200, statuses[1], "the burst");
    assertEquals(429, statuses[2], "then the rate");
    String limited = get(carol);
    assertTrue(Long.parseLong(ForwardTest.header(limited, "retry-after")) >= 1, limited);
    String url = "http://127.0.0.1:" + origin.httpPort() + "/hello";
    assertEquals("429", curl(0, "-o", "/dev/null", "-w", "%{http_code}", "--proxy-user", "carol:s3cret", "-x", "127.0.0.1:" + node.proxyPort(), url), "curl sees the 429 too");
  }

  @Test
  void forwardedBodiesOfAShapedUserArriveWhole() throws Exception {
    putPolicy(limitsPolicy());
    String dave = "Proxy-Authorization: " + basic("dave:s3cret") + "\r\n";
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/bytes?n=200000 HTTP/1.1\r\nHost: x\r\n" + dave + "Connection: close\r\n\r\n").readHead();
      assertEquals(200, Raw.status(head), head);
      assertEquals(200_000, raw.in().readAllBytes().length, "a shaped download is slowed, never cut");
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.send("POST http://127.0.0.1:" + origin.httpPort() + "/upload HTTP/1.1\r\nHost: x\r\n" + dave + "Content-Length: 150000\r\n\r\n");
      raw.send(new byte[150_000]);
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head);
      String body = new String(raw.readN(Integer.parseInt(ForwardTest.header(head, "content-length"))), StandardCharsets.UTF_8);
      assertEquals(150_000, new JsonObject(body).getLong("bytes"), "an upload by a shaped user arrives whole");
    }
  }

  @Test
  void aShapedUploadLeavesTheUpstreamConnectionUsable() throws Exception {
    putPolicy(limitsPolicy());
    String frank = "Proxy-Authorization: " + basic("frank:s3cret") + "\r\n";
    byte[] data = new byte[256 * 1024];
    new java.util.Random(11).nextBytes(data);
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.send("POST http://127.0.0.1:" + origin.httpPort() + "/upload HTTP/1.1\r\nHost: x\r\n" + frank + "Content-Length: " + data.length + "\r\n\r\n");
      raw.send(data);
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head);
      JsonObject body = new JsonObject(new String(raw.readN(Integer.parseInt(ForwardTest.header(head, "content-length"))), StandardCharsets.UTF_8));
      assertEquals(data.length, body.getLong("bytes"), "a shaped upload arrives whole");
      assertEquals(Origin.sha256(data), body.getString("sha256"), "and unchanged");
    }
    // Pooled upstream connections, the upload's among them, serve the next requests to the same
    // origin. Enough requests to reach every ingress instance's pool.
    for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
      try (Raw raw = new Raw(node.proxyPort())) {
        String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\n" + frank + "Connection: close\r\n\r\n").readHead();
        assertEquals(200, Raw.status(head), head);
        assertEquals("hello", new String(raw.in().readAllBytes(), StandardCharsets.US_ASCII));
      }
    }
  }

  @Test
  void shapedTunnelsDeliverEverything() throws Exception {
    putPolicy(limitsPolicy());
    String dave = "Proxy-Authorization: " + basic("dave:s3cret") + "\r\n";
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + dave + "\r\n").readHead()));
      byte[] data = new byte[256 * 1024];
      new java.util.Random(7).nextBytes(data);
      Thread writer = new Thread(() -> {
        try {
          raw.send(data);
        } catch (java.io.IOException ignored) {
          // reported by the comparison below
        }
      });
      writer.start();
      byte[] back = raw.readN(data.length);
      writer.join();
      assertTrue(java.util.Arrays.equals(data, back), "shaping slows a tunnel down, it never drops bytes");
    }
  }

  @Test
  void aNewPolicyClosesTheOpenTunnelsItDeniesWhenAsked() throws Exception {
    putPolicy(policy(false));
    String target = "127.0.0.1:" + origin.echoPort();
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead()));
      JsonObject deny = policy(false);
      deny.getJsonArray("rules").add(0, new JsonObject().put("id", "no-echo").put("action", "deny").put("ports", new JsonArray().add(origin.echoPort())));
      putPolicy(deny); // without enforceOnOpenTunnels: the tunnel keeps running
      raw.send("still here");
      assertEquals("still here", new String(raw.readN(10), StandardCharsets.US_ASCII));
      putPolicy(deny.put("enforceOnOpenTunnels", true));
      assertTrue(raw.closedByPeer(), "now the denied tunnel is closed");
    }
    putPolicy(policy(false));
  }

  @Test
  void usersFromAnHtpasswdFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("htpasswd");
    java.nio.file.Files.writeString(file, "# users\nerin:" + hash + "\n");
    JsonObject p = policy(true);
    p.getJsonObject("auth").remove("users");
    p.getJsonObject("auth").put("htpasswd", file.toString());
    p.getJsonArray("rules").remove(0); // its user (alice) is not in the file; names are not checked against it
    putPolicy(p);
    assertEquals(407, Raw.status(get("")));
    assertEquals(200, Raw.status(get("Proxy-Authorization: " + basic("erin:s3cret") + "\r\n")));

    java.nio.file.Files.writeString(file, "mallory:$apr1$abc$0123456789abcdefghijkl\n");
    HttpResponse<String> refused =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/v1/policy"))
                    .header("authorization", "Bearer " + node.controlToken())
                    .header("content-type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(p.encode()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(400, refused.statusCode(), refused.body());
    assertEquals("auth.htpasswd", new JsonObject(refused.body()).getString("path"), "only bcrypt entries");
    putPolicy(policy(false));
  }

  @Test
  void policyTimeoutsApplyToNewAndOpenTunnels() throws Exception {
    putPolicy(policy(false).put("timeouts", new JsonObject().put("idle", "1s")));
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead()));
      assertTrue(raw.closedByPeer(), "the policy's idle timeout (1s, the node's is 5m) closes an idle tunnel");
    } finally {
      putPolicy(policy(false));
    }
  }

  private static String curl(int expectedExit, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(15, TimeUnit.SECONDS));
    assertEquals(expectedExit, p.exitValue(), String.join(" ", cmd) + " -> " + out);
    return out;
  }
}
