package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy endpoints of the control API, their errors, and persistence across restarts. */
class PolicyApiTest {
  static final HttpClient http = HttpClient.newHttpClient();

  static final String DENY_EXAMPLE =
      """
      {"rules": [{"id": "no-example", "action": "deny", "hosts": ["example.com", "*.example.com"]}], "default": "allow"}
      """;

  private static HttpResponse<String> call(Node node, String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + path))
            .header("authorization", "Bearer " + node.controlToken())
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> put(Node node, String body, String... headers) throws Exception {
    String[] all = new String[headers.length + 2];
    all[0] = "content-type";
    all[1] = "application/json";
    System.arraycopy(headers, 0, all, 2, headers.length);
    return call(node, "PUT", "/v1/policy", body, all);
  }

  @Test
  void putGetHistoryRollback(@TempDir Path dir) throws Exception {
    Node node = TestNodes.start(TestNodes.config(dir, List.of()));
    try {
      HttpResponse<String> first = call(node, "GET", "/v1/policy", null);
      assertEquals(200, first.statusCode());
      assertEquals("\"1\"", first.headers().firstValue("etag").orElseThrow(), "a new node runs version 1");

      HttpResponse<String> put = put(node, DENY_EXAMPLE, "if-match", "\"1\"");
      assertEquals(200, put.statusCode(), put.body());
      assertEquals(2, new JsonObject(put.body()).getInteger("version"));
      assertEquals(
          java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE),
          Files.getPosixFilePermissions(dir.resolve("policy").resolve("v2.json")),
          "policy files hold password hashes");
      assertEquals("\"2\"", put.headers().firstValue("etag").orElseThrow());

      HttpResponse<String> got = call(node, "GET", "/v1/policy", null);
      assertEquals("no-example", new JsonObject(got.body()).getJsonArray("rules").getJsonObject(0).getString("id"));

      HttpResponse<String> stale = put(node, DENY_EXAMPLE, "if-match", "\"1\"");
      assertEquals(412, stale.statusCode(), "a stale If-Match is refused");

      JsonObject history = new JsonObject(call(node, "GET", "/v1/policy/history", null).body());
      assertEquals(2, history.getInteger("current"));
      JsonArray versions = history.getJsonArray("versions");
      assertEquals(2, versions.size());
      assertTrue(versions.getJsonObject(1).getString("who").contains("127.0.0.1"));

      HttpResponse<String> back = call(node, "POST", "/v1/policy/rollback/1", null);
      assertEquals(200, back.statusCode(), back.body());
      assertEquals(3, new JsonObject(back.body()).getInteger("version"), "a rollback is a new version");
      assertEquals(0, new JsonObject(call(node, "GET", "/v1/policy", null).body()).getJsonArray("rules", new JsonArray()).size());
      assertEquals(404, call(node, "POST", "/v1/policy/rollback/99", null).statusCode());
    } finally {
      Await.result(node.stop());
    }
  }

  @Test
  void theControlApiNeedsItsToken(@TempDir Path dir) throws Exception {
    Node node = TestNodes.start(TestNodes.config(dir, List.of()));
    try {
      String base = "http://127.0.0.1:" + node.controlPort();
      for (String path : List.of("/v1/tunnels", "/v1/policy")) {
        assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + path)).header("authorization", "Bearer wrong-token-0123456789").build(), HttpResponse.BodyHandlers.ofString()).statusCode());
      }
      for (String path : List.of("/healthz", "/readyz")) {
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
      }
      Path file = dir.resolve("control-token");
      assertEquals(node.controlToken(), Files.readString(file).strip());
      assertEquals(
          java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE),
          Files.getPosixFilePermissions(file));
    } finally {
      Await.result(node.stop());
    }
  }

  @Test
  void badPoliciesChangeNothing(@TempDir Path dir) throws Exception {
    Node node = TestNodes.start(TestNodes.config(dir, List.of()));
    try {
      HttpResponse<String> bad = put(node, "{\"rules\": [{\"id\": \"r\", \"action\": \"allow\", \"ports\": [0]}]}");
      assertEquals(400, bad.statusCode(), bad.body());
      assertEquals("rules[0].ports[0]", new JsonObject(bad.body()).getString("path"));

      HttpResponse<String> plain = put(node, "{\"auth\": {\"required\": true, \"users\": {\"alice\": \"hunter2\"}}}");
      assertEquals(400, plain.statusCode(), "a plain-text password is refused");
      assertEquals("auth.users.alice", new JsonObject(plain.body()).getString("path"));

      assertEquals(400, put(node, "{not json").statusCode());
      assertEquals(415, call(node, "PUT", "/v1/policy", "{}", "content-type", "text/plain").statusCode());
      HttpResponse<String> tooBig = put(node, "{\"x\": \"" + "a".repeat(1100 * 1024) + "\"}");
      assertEquals(413, tooBig.statusCode());
      assertTrue(new JsonObject(tooBig.body()).getString("error").contains("larger"), tooBig.body());
      HttpResponse<String> missingFile =
          call(node, "POST", "/v1/policy/validate", "{\"auth\": {\"htpasswd\": \"/nonexistent/htpasswd\"}}", "content-type", "application/json");
      assertEquals(400, missingFile.statusCode(), "validate reads the htpasswd file as a PUT does");
      assertEquals("auth.htpasswd", new JsonObject(missingFile.body()).getString("path"));

      HttpResponse<String> validate = call(node, "POST", "/v1/policy/validate", DENY_EXAMPLE, "content-type", "application/json");
      assertEquals(200, validate.statusCode(), validate.body());
      assertEquals(400, call(node, "POST", "/v1/policy/validate", "{\"default\": \"maybe\"}", "content-type", "application/json").statusCode());

      assertEquals("\"1\"", call(node, "GET", "/v1/policy", null).headers().firstValue("etag").orElseThrow(), "nothing changed");
    } finally {
      Await.result(node.stop());
    }
  }

  @Test
  void versionsSurviveARestartAndSeedOnlyAnEmptyStore(@TempDir Path dir) throws Exception {
    Path seed = dir.resolve("seed.json");
    Files.writeString(seed, DENY_EXAMPLE);
    JsonObject config = TestNodes.config(dir.resolve("data"), List.of()).put("policy", seed.toString());
    Node node = TestNodes.start(config);
    try {
      assertEquals("no-example", new JsonObject(call(node, "GET", "/v1/policy", null).body()).getJsonArray("rules").getJsonObject(0).getString("id"));
      assertEquals(200, put(node, "{\"default\": \"deny\"}").statusCode());
    } finally {
      Await.result(node.stop());
    }
    // A crash mid-write leaves a temp file behind: the node must still start.
    Files.writeString(dir.resolve("data").resolve("policy").resolve("v3.json.tmp"), "{\"torn");
    Node again = TestNodes.start(config);
    try {
      HttpResponse<String> got = call(again, "GET", "/v1/policy", null);
      assertEquals("\"2\"", got.headers().firstValue("etag").orElseThrow(), "the seed does not overwrite a stored policy");
      assertEquals("deny", new JsonObject(got.body()).getString("default"));
    } finally {
      Await.result(again.stop());
    }
  }
}
