package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.TerminateTest.Answer;
import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client certificates on terminating listeners: optional, required, refused; the identity header; the tunnel service. */
class TerminateMtlsTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static TestPki.Ca serverCa;
  static TestPki.Pem alice;
  static TestPki.Pem mallory;
  static TestPki.Pem bob;
  static Path dir;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    dir = tmp;
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    serverCa = TestPki.ca("Test Server CA");
    TestPki.Ca clientCa = TestPki.ca("Test Client CA");
    Path certs = dir.resolve("certs");
    serverCa.server("svc.example.test", "svc.example.test").write(certs, "svc");
    Files.writeString(certs.resolve("client-ca.pem"), clientCa.certPem());
    alice = clientCa.client("CN=alice,O=Example\\, Inc.", List.of("alice.clients.test"), List.of("spiffe://test/alice"));
    bob = clientCa.client("CN=bob,O=Example", List.of(), List.of());
    mallory = TestPki.ca("Rogue CA").client("CN=alice", List.of("alice.clients.test"), List.of());
    String backend = "http://127.0.0.1:" + origin.httpPort();
    JsonArray listeners = new JsonArray()
        .add(listener(certs, "optional", "optional").put("routes", new JsonObject().put("*", backend)).put("identityHeader", "X-Peer"))
        .add(listener(certs, "required", "required").put("routes", new JsonObject().put("*", backend)))
        .add(listener(certs, "svc", "required").put("kind", "tunnelService").put("backend", "http://127.0.0.1:" + origin.echoPort()));
    node = TestNodes.start(TestNodes.config(dir.resolve("node"), List.of()).put("terminate", listeners));
  }

  private static JsonObject listener(Path certs, String name, String clientAuth) {
    return new JsonObject()
        .put("name", name)
        .put("listen", "127.0.0.1:0")
        .put("cert", certs.resolve("svc.pem").toString())
        .put("key", certs.resolve("svc-key.pem").toString())
        .put("clientAuth", clientAuth)
        .put("clientCa", certs.resolve("client-ca.pem").toString());
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  private static Answer headers(String listener, TestPki.Pem cert) {
    HttpClientAgent c = TlsClients.http(vertx, serverCa.certPem(), cert, false);
    try {
      return TerminateTest.send(c, TerminateTest.get(node.terminatePort(listener), "svc.example.test", "/headers").putHeader("X-Peer", "Subject=\"CN=root\""));
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  void optionalPassesTheVerifiedIdentityAndStripsTheClients() {
    JsonObject seen = new JsonObject(headers("optional", alice).body());
    assertEquals("Subject=\"O=Example\\\\, Inc.,CN=alice\";DNS=alice.clients.test;URI=spiffe://test/alice", seen.getString("x-peer"));
  }

  @Test
  void optionalWithoutCertificateSendsNoIdentity() {
    Answer a = headers("optional", null);
    assertEquals(200, a.response().statusCode());
    assertNull(new JsonObject(a.body()).getString("x-peer"), "the client's own X-Peer is stripped");
  }

  @Test
  void requiredAcceptsACertificateOfTheCa() {
    JsonObject seen = new JsonObject(headers("required", alice).body());
    assertTrue(seen.getString("x-client-identity").contains("CN=alice"), seen.encode());
  }

  @Test
  void requiredRefusesNoCertificateAndAnotherCasCertificate() {
    assertThrows(AssertionError.class, () -> headers("required", null));
    assertThrows(AssertionError.class, () -> headers("required", mallory));
  }

  private static NetClient tlsClient(TestPki.Pem cert) {
    NetClientOptions o = new NetClientOptions()
        .setSsl(true)
        .setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(serverCa.certPem())));
    if (cert != null) {
      o.setKeyCertOptions(new PemKeyCertOptions().setCertValue(Buffer.buffer(cert.cert())).setKeyValue(Buffer.buffer(cert.key())));
    }
    return vertx.createNetClient(o);
  }

  /** Writes {@code text} and collects what comes back until {@code expected} bytes arrived or the connection closed. */
  private static String exchange(NetSocket s, String text, int expected) {
    Promise<String> answer = Promise.promise();
    collect(s, text, expected, answer);
    return Await.result(answer.future());
  }

  private static void collect(NetSocket s, String text, int expected, Promise<String> answer) {
    Buffer got = Buffer.buffer();
    s.handler(b -> {
      got.appendBuffer(b);
      if (got.length() >= expected) {
        answer.tryComplete(got.toString());
      }
    });
    s.closeHandler(v -> answer.tryComplete(got.toString()));
    s.write(text);
  }

  /**
   * Opens a tunnel-service connection and sends {@code text}: what comes back before the close (or
   * until {@code text}'s length arrived), or "connect failed: ..." when the handshake fails. The
   * handlers are set on the event loop as the connect completes, so a close that follows at once
   * (the server refusing after its side of the handshake) cannot be missed.
   */
  private static String tunnelExchange(NetClient c, String text) {
    Promise<String> answer = Promise.promise();
    c.connect(node.terminatePort("svc"), "127.0.0.1", "svc.example.test").onComplete(ar -> {
      if (ar.failed()) {
        answer.tryComplete("connect failed: " + ar.cause());
      } else {
        collect(ar.result(), text, text.length(), answer);
      }
    });
    return Await.result(answer.future());
  }

  @Test
  void tunnelServiceRelaysForACertifiedClient() throws Exception {
    NetClient c = tlsClient(alice);
    try {
      NetSocket s = Await.result(c.connect(node.terminatePort("svc"), "127.0.0.1", "svc.example.test"));
      assertEquals("ping", exchange(s, "ping", 4));
      assertEquals(1, node.registry().size());
      assertEquals("127.0.0.1:" + origin.echoPort(), node.registry().list().get(0).target());
      Await.result(s.close());
      String line = "\"method\":\"CONNECT\",\"target\":\"http://127.0.0.1:" + origin.echoPort() + "\"";
      ClusterTest.awaitQuietly(() -> Files.readString(dir.resolve("node/access.log")).contains(line), "the tunnel's access-log line");
      ClusterTest.await(() -> node.registry().size() == 0, "the tunnel leaves the registry");
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  void aDenyingPolicyEnforcedOnOpenTunnelsLeavesTunnelServiceTunnelsAlone() throws Exception {
    NetClient c = tlsClient(alice);
    Control control = new Control(node);
    try {
      NetSocket s = Await.result(c.connect(node.terminatePort("svc"), "127.0.0.1", "svc.example.test"));
      assertEquals("one", exchange(s, "one", 3));
      Control.Reply r = control.put("/v1/policy", new JsonObject().put("default", "deny").put("enforceOnOpenTunnels", true));
      assertEquals(200, r.status(), r.body().encode());
      assertEquals("two", exchange(s, "two", 3), "the policy is for proxy requests, not for a tunnel service");
      Await.result(s.close());
    } finally {
      control.put("/v1/policy", new JsonObject());
      Await.result(c.close());
    }
  }

  @Test
  void listenerRulesMatchTheVerifiedClient() throws Exception {
    Control control = new Control(node);
    try {
      JsonObject policy = new JsonObject(
          """
          {"auth": {"required": true, "users": {"carol": "$2y$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"}},
           "default": "deny",
           "rules": [
             {"id": "alice-in", "action": "allow", "listeners": ["optional"], "hosts": ["svc.example.test"], "clients": ["uri:spiffe://test/alice"]},
             {"id": "no-one-else", "action": "deny", "listeners": ["optional"], "hosts": ["svc.example.test"]}
           ]}
          """);
      Control.Reply r = control.put("/v1/policy", policy);
      assertEquals(200, r.status(), r.body().encode());
      // The proxy's auth.required and default deny are not the listener's: alice's certificate lets her in.
      Answer in = headers("optional", alice);
      assertEquals(200, in.response().statusCode(), in.body());
      assertTrue(new JsonObject(in.body()).getString("x-peer").contains("URI=spiffe://test/alice"));
      int seen = origin.requests.get();
      Answer out = headers("optional", null);
      assertEquals(403, out.response().statusCode());
      assertEquals("rule no-one-else", out.response().getHeader("X-Tollgate-Reason"));
      assertEquals(seen, origin.requests.get(), "a denied request never reaches the backend");
      // Rules name their listeners: the other listener is not decided by them.
      assertEquals(200, headers("required", alice).response().statusCode());
    } finally {
      control.put("/v1/policy", new JsonObject());
    }
  }

  @Test
  void aTunnelServiceIsDecidedByItsListenerRules() throws Exception {
    Control control = new Control(node);
    NetClient c = tlsClient(alice);
    try {
      JsonObject policy = new JsonObject()
          .put("rules", new JsonArray().add(new JsonObject()
              .put("id", "svc-no-alice").put("action", "deny").put("listeners", new JsonArray().add("svc"))
              .put("ports", new JsonArray().add(origin.echoPort())).put("clients", new JsonArray().add("cn:alice"))));
      assertEquals(200, control.put("/v1/policy", policy).status());
      assertEquals("", tunnelExchange(c, "ping"), "closed without a byte relayed");
      String line = "\"status\":403";
      ClusterTest.awaitQuietly(
          () -> Files.readAllLines(dir.resolve("node/access.log")).stream()
              .anyMatch(l -> l.contains(line) && l.contains("\"rule\":\"svc-no-alice\"") && l.contains("\"method\":\"CONNECT\"")),
          "the refusal's access-log line");
      assertEquals(0, node.registry().size());
    } finally {
      control.put("/v1/policy", new JsonObject());
      Await.result(c.close());
    }
  }

  @Test
  void tunnelServiceRefusesAClientWithoutCertificate() {
    NetClient c = tlsClient(null);
    try {
      // TLS 1.3 may complete the client's side of the handshake before the server checks; either the
      // connect fails or the connection closes without a byte relayed.
      String result = tunnelExchange(c, "ping");
      assertTrue(result.startsWith("connect failed") || result.isEmpty(), "nothing relayed: " + result);
    } finally {
      Await.result(c.close());
    }
  }

  @Test
  void tunnelServiceTunnelsCountAgainstTheCertificateHoldersOwnLimits() throws Exception {
    Control control = new Control(node);
    NetClient a = tlsClient(alice);
    NetClient b = tlsClient(bob);
    try {
      JsonObject policy = new JsonObject()
          .put("auth", new JsonObject().put("certificateUsers", new JsonArray().add("alice")))
          .put("limits", new JsonObject()
              .put("default", new JsonObject().put("maxTunnels", 5))
              .put("users", new JsonObject().put("alice", new JsonObject().put("maxTunnels", 1))));
      Control.Reply pushed = control.put("/v1/policy", policy);
      assertEquals(200, pushed.status(), pushed.body().encode());
      NetSocket first = Await.result(a.connect(node.terminatePort("svc"), "127.0.0.1", "svc.example.test"));
      assertEquals("one", exchange(first, "one", 3));
      JsonObject listed = control.get("/v1/tunnels").body();
      assertEquals("alice", listed.getJsonArray("tunnels").getJsonObject(0).getString("user"), listed.encode());
      assertEquals("", tunnelExchange(a, "two"), "alice's second tunnel is over her maxTunnels: closed without a byte relayed");
      ClusterTest.awaitQuietly(
          () -> Files.readAllLines(dir.resolve("node/access.log")).stream()
              .anyMatch(l -> l.contains("\"status\":429") && l.contains("\"user\":\"alice\"") && l.contains("\"method\":\"CONNECT\"")),
          "the refusal's access-log line, naming alice");
      assertEquals("three", tunnelExchange(b, "three"), "bob has an allowance of his own");
      Await.result(b.close());
      Await.result(first.close());
      ClusterTest.await(() -> node.registry().size() == 0, "the tunnels leave the registry");
      assertEquals("four", tunnelExchange(a, "four"), "alice's slot is back once her tunnel closed");
      Await.result(a.close());
      ClusterTest.await(() -> node.registry().size() == 0, "the last tunnel leaves the registry");
    } finally {
      control.put("/v1/policy", new JsonObject());
      Await.result(a.close());
      Await.result(b.close());
    }
  }
}
