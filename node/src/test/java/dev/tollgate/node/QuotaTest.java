package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.auth.PasswordHashes;
import dev.tollgate.node.fixtures.Control;
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
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas on one node, on real sockets: a request quota, a byte quota that closes an open tunnel,
 * tunnel time, the usage API, a reset, a raised quota, and usage kept across a restart.
 */
class QuotaTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static String hash;
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    hash = PasswordHashes.hash("s3cret".toCharArray());
    node = TestNodes.start(TestNodes.config(dir, List.of(origin.echoPort())));
    put(policy(1 << 20));
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
  }

  /** alice: 5 requests a day; bob: {@code bobBytes} a day; carol: 1 tunnel-second a day; erin: 3 requests a month via her group. */
  static JsonObject policy(long bobBytes) {
    JsonObject users = new JsonObject();
    for (String u : new String[] {"alice", "bob", "carol", "dave", "erin"}) {
      users.put(u, hash);
    }
    JsonObject quotas = new JsonObject()
        .put("users", new JsonObject()
            .put("alice", new JsonObject().put("requests", new JsonObject().put("perDay", 5)))
            .put("bob", new JsonObject().put("bytes", new JsonObject().put("perDay", bobBytes)))
            .put("carol", new JsonObject().put("tunnelSeconds", new JsonObject().put("perDay", 1))))
        .put("groups", new JsonObject().put("interns", new JsonObject().put("requests", new JsonObject().put("perMonth", 3))));
    return new JsonObject()
        .put("auth", new JsonObject().put("required", true).put("users", users)
            .put("groups", new JsonObject().put("interns", new io.vertx.core.json.JsonArray().add("erin"))))
        .put("network", new JsonObject().put("allowPrivate", new io.vertx.core.json.JsonArray().add("127.0.0.0/8")))
        .put("quotas", quotas);
  }

  static void put(JsonObject policy) throws Exception {
    Control.Reply r = new Control(node).put("/v1/policy", policy);
    assertEquals(200, r.status(), r.body().encode());
  }

  static String auth(String user) {
    return "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString((user + ":s3cret").getBytes(StandardCharsets.UTF_8)) + "\r\n";
  }

  /** One forwarded GET; returns the response head. */
  static String get(String user) throws IOException {
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth(user) + "Connection: close\r\n\r\n").readHead();
      raw.readToClose();
      return head;
    }
  }

  static String connect(Raw raw, String user) throws IOException {
    return raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n" + auth(user) + "\r\n").readHead();
  }

  static String header(String head, String name) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  static long secondsToMidnight() {
    long now = System.currentTimeMillis();
    long midnight = LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
    return (midnight - now) / 1000;
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void aRequestQuotaAnswers429NamingItWithRetryAfterToMidnightAndAResetLetsTheUserThrough() throws Exception {
    for (int i = 0; i < 5; i++) {
      assertEquals(200, Raw.status(get("alice")), "request " + (i + 1));
    }
    String head = get("alice");
    assertEquals(429, Raw.status(head), head);
    assertTrue(header(head, "X-Tollgate-Reason").contains("quota requests.perDay exceeded"), head);
    long retry = Long.parseLong(header(head, "Retry-After"));
    assertTrue(Math.abs(retry - secondsToMidnight()) <= 5, "Retry-After " + retry + " vs " + secondsToMidnight() + " s to midnight UTC");
    assertEquals(200, Raw.status(get("dave")), "other users are unaffected");

    Control control = new Control(node);
    JsonObject usage = control.get("/v1/usage/alice").body();
    assertEquals(5, usage.getJsonObject("day").getInteger("requests"), usage.encode());
    assertEquals("requests.perDay", usage.getJsonObject("exceeded").getString("quota"), usage.encode());
    assertEquals(5, usage.getJsonObject("quota").getJsonObject("requests").getInteger("perDay"));

    Control.Reply reset = control.delete("/v1/usage/alice");
    assertEquals(200, reset.status(), reset.body().encode());
    assertEquals(200, Raw.status(get("alice")), "let through after the reset");
    assertEquals(1, control.get("/v1/usage/alice").body().getJsonObject("day").getInteger("requests"));
    String audit = Files.readString(dir.resolve("audit.log"));
    assertTrue(audit.contains("\"event\":\"usage.reset\"") && audit.contains("\"user\":\"alice\""), audit);
  }

  @Test
  void aMonthlyQuotaFromAGroupRetriesAfterTheMonthEnds() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Raw.status(get("erin")));
    }
    String head = get("erin");
    assertEquals(429, Raw.status(head), head);
    assertTrue(header(head, "X-Tollgate-Reason").contains("requests.perMonth"), head);
    long monthEnd = LocalDate.now(ZoneOffset.UTC).withDayOfMonth(1).plusMonths(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
    long expected = (monthEnd - System.currentTimeMillis()) / 1000;
    assertTrue(Math.abs(Long.parseLong(header(head, "Retry-After")) - expected) <= 5, head);
  }

  @Test
  void anOpenTunnelThatCrossesAByteQuotaIsClosedAndARaisedQuotaLetsTheUserBackAtOnce() throws Exception {
    byte[] chunk = new byte[64 * 1024];
    long echoed = 0;
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.timeout(15_000);
      assertEquals(200, Raw.status(connect(raw, "bob")));
      // Each round trip moves 128 KiB (64 up, 64 down): the 1 MiB quota is crossed in the 8th.
      for (int i = 0; i < 32; i++) {
        try {
          raw.send(chunk);
        } catch (IOException e) {
          break; // closed by the proxy
        }
        byte[] back;
        try {
          back = raw.readN(chunk.length);
        } catch (IOException e) {
          break; // reset by the proxy's close: the client had bytes in flight
        }
        echoed += back.length;
        if (back.length < chunk.length) {
          break;
        }
      }
      assertTrue(raw.closedByPeer(), "the tunnel was closed");
    }
    assertTrue(echoed >= 7 * 64 * 1024 && echoed <= 10 * 64 * 1024, "echoed " + echoed + " bytes before the close");

    try (Raw raw = new Raw(node.proxyPort())) {
      String head = connect(raw, "bob");
      assertEquals(429, Raw.status(head), head);
      assertTrue(header(head, "X-Tollgate-Reason").contains("quota bytes.perDay exceeded"), head);
    }
    assertEquals(429, Raw.status(get("bob")), "forwarded requests count bytes too");

    JsonObject usage = new Control(node).get("/v1/usage").body();
    JsonObject bob = usage.getJsonObject("users").getJsonObject("bob");
    assertTrue(bob.getJsonObject("day").getLong("bytes") >= 1 << 20, usage.encode());
    assertEquals(LocalDate.now(ZoneOffset.UTC).toString(), usage.getJsonObject("periods").getJsonObject("day").getString("period"));

    put(policy(1L << 30));
    assertEquals(200, Raw.status(get("bob")), "a raised quota applies at once");
    put(policy(1 << 20));
  }

  @Test
  void tunnelTimeIsCountedAndAnOpenTunnelIsClosedWhenItRunsOut() throws Exception {
    try (Raw raw = new Raw(node.proxyPort())) {
      raw.timeout(15_000);
      assertEquals(200, Raw.status(connect(raw, "carol")));
      raw.in().read(); // blocks until the proxy closes the tunnel: its second of tunnel time is used up
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      String head = connect(raw, "carol");
      assertEquals(429, Raw.status(head), head);
      assertTrue(header(head, "X-Tollgate-Reason").contains("tunnelSeconds.perDay"), head);
    }
    assertEquals(200, Raw.status(get("carol")), "tunnel time does not limit forwarded requests");
  }

  @Test
  void usageSurvivesARestartAndMetricsCountDenials() throws Exception {
    assertEquals(200, Raw.status(get("dave")));
    assertEquals(200, Raw.status(get("dave")));
    await(() -> {
      try {
        return Files.exists(dir.resolve("usage.json")) && Files.readString(dir.resolve("usage.json")).contains("|test-node|dave");
      } catch (IOException e) {
        return false;
      }
    }, "dave's usage saved");
    long before = new Control(node).get("/v1/usage/dave").body().getJsonObject("day").getLong("requests");

    Await.result(node.stop());
    node = TestNodes.start(TestNodes.config(dir, List.of(origin.echoPort())));
    JsonObject after = new Control(node).get("/v1/usage/dave").body();
    assertEquals(before, after.getJsonObject("day").getLong("requests"), after.encode());
    assertEquals(200, Raw.status(get("dave")));
    assertEquals(before + 1, new Control(node).get("/v1/usage/dave").body().getJsonObject("day").getLong("requests"));
    assertNull(after.getJsonObject("exceeded"));
  }

  @Test
  void quotaMetricsAreExported() throws Exception {
    get("dave");
    String text = scrape();
    for (String series : new String[] {
      "tollgate_quota_denied_total{node=\"test-node\",period=\"day\",quota=\"requests\"}",
      "tollgate_quota_usage{kind=\"bytes\",node=\"test-node\",period=\"day\"}",
      "tollgate_quota_usage{kind=\"requests\",node=\"test-node\",period=\"month\"}"}) {
      assertTrue(text.contains(series), series + " in\n" + text.lines().filter(l -> l.contains("quota")).toList());
    }
    assertTrue(text.lines().noneMatch(l -> l.startsWith("tollgate_quota") && l.toLowerCase(Locale.ROOT).contains("alice")), "no user labels");
  }

  @Test
  void perUserUsageIsExportedOnlyWhenSwitchedOn(@TempDir Path other) throws Exception {
    JsonObject config = TestNodes.config(other, List.of(origin.echoPort()));
    config.put("metrics", new JsonObject().put("userLabels", true));
    Node labelled = TestNodes.start(config);
    try {
      Control.Reply r = new Control(labelled).put("/v1/policy", policy(1 << 20));
      assertEquals(200, r.status(), r.body().encode());
      try (Raw raw = new Raw(labelled.proxyPort())) {
        raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth("dave") + "Connection: close\r\n\r\n").readToClose();
      }
      var resp = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + labelled.controlPort() + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      String line = "tollgate_quota_user_usage{kind=\"requests\",node=\"test-node\",period=\"day\",user=\"dave\"} 1.0";
      assertTrue(resp.body().contains(line), resp.body().lines().filter(l -> l.contains("user_usage")).toList().toString());
    } finally {
      Await.result(labelled.stop());
    }
    assertTrue(scrape().lines().noneMatch(l -> l.startsWith("tollgate_quota_user_usage{")), "off by default");
  }

  static String scrape() throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    var resp = client.send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.controlPort() + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return resp.body();
  }
}
