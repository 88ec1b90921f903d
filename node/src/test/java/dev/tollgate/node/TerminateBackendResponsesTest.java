package dev.tollgate.node;

import static dev.tollgate.node.TerminateFastPathTest.get;
import static dev.tollgate.node.TerminateFastPathTest.line;
import static dev.tollgate.node.TerminateFastPathTest.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.ingress.FailureResponder;
import dev.tollgate.node.TerminateFastPathTest.Answer;
import dev.tollgate.node.fixtures.ScriptedBackend;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP/1.1 fast path of a terminating listener with backends that answer in every shape a
 * test scripts: a trickling stream, a body ending with the connection, interim answers, malformed
 * responses. Byte for byte over TLS sockets, as {@link TerminateFastPathTest}.
 */
class TerminateBackendResponsesTest {
  static Node node;
  static TestPki.Ca ca;
  static ScriptedBackend scripted;
  static int port;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    scripted = new ScriptedBackend();
    ca = TestPki.ca("Test Server CA");
    Path certs = dir.resolve("certs");
    ca.server("script.test", "script.test").write(certs, "script");
    JsonObject listener = TestNodes.terminateListener("script", certs, "script", "http://127.0.0.1:" + scripted.port());
    node = TestNodes.start(TestNodes.config(dir.resolve("node"), List.of())
        .put("terminate", new JsonArray().add(listener))
        .put("timeouts", new JsonObject().put("idle", "1s")));
    port = node.terminatePort("script");
  }

  @AfterAll
  static void stop() throws Exception {
    Await.result(node.stop());
    scripted.close();
  }

  static Raw connect() throws Exception {
    return new Raw(TlsClients.socket(port, "script.test", ca.certPem()));
  }

  @Test
  void aTricklingResponseReachesTheClientAsItComes() throws Exception {
    CountDownLatch firstSeen = new CountDownLatch(1);
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n");
      assertTrue(firstSeen.await(10, TimeUnit.SECONDS), "the client saw the first event before the backend sent more");
      b.send("7\r\nsecond\n\r\n0\r\n\r\n");
      b.readHead(); // the next request, on the kept connection
      b.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter");
      b.readHead();
    });
    try (Raw raw = connect()) {
      raw.send(get("/events", "script.test"));
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), head);
      assertEquals("6", line(raw.in()));
      assertEquals("first", line(raw.in()));
      firstSeen.countDown();
      assertEquals("", line(raw.in()));
      assertEquals("7", line(raw.in()));
      assertEquals("second", line(raw.in()));
      assertEquals("", line(raw.in()));
      assertEquals("0", line(raw.in()));
      assertEquals("", line(raw.in()));
      raw.send(get("/after", "script.test"));
      assertEquals("after", read(raw, false).text(), "both connections stay framed");
    }
  }

  @Test
  void aBodyEndingWithTheBackendsConnectionIsChunkedToAKeptClient() throws Exception {
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nuntil the end");
      b.socket().close();
    });
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
      b.readHead();
    });
    try (Raw raw = connect()) {
      raw.send(get("/old", "script.test"));
      Answer a = read(raw, false);
      assertEquals(200, a.status(), a.head());
      assertTrue(a.head().startsWith("HTTP/1.1 200 OK\r\n"), a.head());
      assertEquals("yes", a.header("x-old"));
      assertEquals("until the end", a.text());
      assertNull(a.header("connection"), "the client's connection is kept: " + a.head());
      raw.send(get("/hints", "script.test"));
      Answer b = read(raw, false);
      assertEquals(200, b.status(), "the interim answer is not passed on: " + b.head());
      assertEquals("final", b.text());
    }
  }

  @Test
  void aMalformedBackendResponseIsA502NamingIt() throws Exception {
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
      b.readHead();
    });
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX");
      b.readHead();
    });
    scripted.next(b -> {
      b.readHead();
      b.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
      b.readHead();
    });
    try (Raw raw = connect()) {
      raw.send(get("/bad", "script.test"));
      Answer a = read(raw, false);
      assertEquals(502, a.status(), a.head());
      assertTrue(a.header(FailureResponder.REASON_HEADER).contains("conflicting Content-Length"), a.head());
      assertTrue(raw.closedByPeer());
    }
    try (Raw raw = connect()) {
      raw.send(get("/bad-chunk", "script.test"));
      String head = raw.readHead();
      assertEquals(200, Raw.status(head), "the head was out before the chunk went wrong");
      assertTrue(raw.closedByPeer(), "then cut off (what was read with the bad bytes is not passed on): the only honest signal once a head is out");
    }
    try (Raw raw = connect()) {
      raw.send(get("/hello", "script.test"));
      assertEquals("hello", read(raw, false).text(), "other clients are unaffected");
    }
  }
}
