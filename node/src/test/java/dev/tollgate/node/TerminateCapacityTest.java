package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.node.TerminateTest.Answer;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's per-address connection cap holds on terminating listeners too. */
class TerminateCapacityTest {
  static Vertx vertx;
  static Origin origin;
  static Node node;
  static TestPki.Ca ca;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ca = TestPki.ca("Test Server CA");
    Path certs = dir.resolve("certs");
    ca.server("site.test", "site.test").write(certs, "site");
    JsonObject listener =
        TestNodes.terminateListener("site", certs, "site", "http://127.0.0.1:" + origin.httpPort());
    JsonObject config = TestNodes.config(dir.resolve("node"), List.of())
        .put("terminate", new JsonArray().add(listener))
        .put("limits", new JsonObject().put("maxConnectionsPerClientAddress", 1));
    node = TestNodes.start(config);
  }

  @AfterAll
  static void stop() {
    Await.result(node.stop());
    origin.close();
    Await.result(vertx.close());
  }

  private static Answer hello(HttpClientAgent c) {
    return TerminateTest.send(c, TerminateTest.get(node.terminatePort("site"), "site.test", "/hello"));
  }

  @Test
  void aSecondConnectionFromTheSameAddressGets429UntilTheFirstCloses() throws Exception {
    HttpClientAgent first = TlsClients.http(vertx, ca.certPem(), null, false);
    HttpClientAgent second = TlsClients.http(vertx, ca.certPem(), null, false);
    try {
      assertEquals(200, hello(first).response().statusCode());
      Answer refused = hello(second);
      assertEquals(429, refused.response().statusCode());
      assertEquals("too many connections from 127.0.0.1 (at most 1)", refused.response().getHeader(FailureResponder.REASON_HEADER));
      assertEquals(200, hello(first).response().statusCode(), "the first connection goes on");
      Await.result(first.close());
      ClusterTest.await(() -> hello(second).response().statusCode() == 200, "a new connection is accepted once the first closed");
    } finally {
      Await.result(second.close());
    }
  }
}
