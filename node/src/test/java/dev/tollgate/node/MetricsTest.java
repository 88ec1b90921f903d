package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.auth.PasswordHashes;
import dev.tollgate.node.fixtures.Control;
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
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics}: Prometheus text without a token, Tollgate's counters following real traffic, bounded labels. */
class MetricsTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    node = TestNodes.start(TestNodes.config(dir, List.of(origin.echoPort())));
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
  }

  static String scrape() throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), "no token needed");
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"), r.headers().toString());
    return r.body();
  }

  /** The value of the series with exactly these labels (name{labels}), or -1. */
  static double value(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  @Test
  void countersFollowTraffic() throws Exception {
    String hash = PasswordHashes.hash("pw".toCharArray());
    Control.Reply put = new Control(node).put("/v1/policy", new JsonObject()
        .put("auth", new JsonObject().put("required", false).put("users", new JsonObject().put("ann", hash)))
        .put("network", new JsonObject().put("allowPrivate", new JsonArray().add("127.0.0.0/8")))
        .put("rules", new JsonArray().add(new JsonObject().put("id", "no-test").put("action", "deny").put("hosts", new JsonArray().add("*.denied.test")))));
    assertEquals(200, put.status(), put.body().encode());
    String before = scrape();

    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readHead()));
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(403, Raw.status(raw.send("GET http://www.denied.test/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").readHead()));
    }
    try (Raw raw = new Raw(node.proxyPort())) {
      assertEquals(200, Raw.status(raw.send("CONNECT 127.0.0.1:" + origin.echoPort() + " HTTP/1.1\r\nHost: x\r\n\r\n").readHead()));
      raw.send("ping");
      raw.readN(4);
      awaitActiveTunnels(1);
    }
    awaitActiveTunnels(0);
    JsonObject required = new Control(node).get("/v1/policy").body();
    required.getJsonObject("auth").put("required", true);
    assertEquals(200, new Control(node).put("/v1/policy", required).status());
    try (Raw raw = new Raw(node.proxyPort())) {
      String bad = java.util.Base64.getEncoder().encodeToString("ann:wrong".getBytes());
      String head = raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic " + bad + "\r\nConnection: close\r\n\r\n").readHead();
      assertEquals(407, Raw.status(head));
    }
    try (Raw notTls = new Raw(node.proxyTlsPort())) {
      notTls.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); // plain HTTP on the TLS listener: a failed handshake
      notTls.readToClose();
    }
    String after = scrape();
    assertEquals(1, delta(before, after, "tollgate_requests_total{method=\"GET\",node=\"test-node\",status_class=\"2xx\"}"), after);
    assertEquals(1, delta(before, after, "tollgate_policy_denials_total{node=\"test-node\",reason=\"auth\"}"));
    assertEquals(1, delta(before, after, "tollgate_policy_denials_total{node=\"test-node\",reason=\"rule\"}"));
    assertEquals(1, delta(before, after, "tollgate_auth_failures_total{node=\"test-node\"}"));
    assertEquals(1, delta(before, after, "tollgate_tls_handshake_failures_total{listener=\"proxy-tls\",node=\"test-node\"}"));
    assertEquals(1, delta(before, after, "tollgate_tunnels_opened_total{node=\"test-node\",result=\"ok\"}"));
    assertTrue(delta(before, after, "tollgate_tunnel_bytes_total{direction=\"up\",node=\"test-node\"}") >= 4);
    assertTrue(delta(before, after, "tollgate_upstream_connect_seconds_count{node=\"test-node\",result=\"ok\"}") >= 1);
    assertTrue(value(after, "tollgate_policy_version{node=\"test-node\"}") >= 3);
    assertEquals(1, value(after, "tollgate_node_ready{node=\"test-node\"}"));
    assertEquals(1, value(after, "tollgate_cluster_members{node=\"test-node\"}"));
    assertTrue(after.contains("tollgate_event_loop_lag_seconds_count"), "event-loop lag");
    assertTrue(after.contains("jvm_memory_used_bytes") && after.contains("vertx_eventbus_handlers"), "JVM and Vert.x metrics too");
    assertTrue(!after.contains("vertx_http_server") && !after.contains("vertx_net_"), "not Vert.x's per-buffer data-path metrics");
    assertTrue(delta(before, after, "tollgate_forwarded_bytes_total{direction=\"down\",node=\"test-node\"}") > 0);
    assertTrue(!after.contains("www.denied.test") && !after.contains("127.0.0.1:" + origin.httpPort()), "no host or address label");
  }

  private static void awaitActiveTunnels(int n) throws InterruptedException {
    ClusterTest.awaitQuietly(() -> value(scrape(), "tollgate_tunnels_active{node=\"test-node\"}") == n, n + " active tunnel(s)");
  }

  private static double delta(String before, String after, String series) {
    double a = value(after, series);
    assertTrue(a >= 0, series + " missing:\n" + after);
    return a - Math.max(0, value(before, series));
  }
}
