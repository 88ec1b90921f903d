package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tollgate.common.NodeConfig;
import dev.tollgate.node.fixtures.Origin;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.node.fixtures.TestPki;
import dev.tollgate.node.fixtures.TlsClients;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The transport switch ({@code -Dtollgate.transport}): which transport {@code auto} takes, that a
 * bad or unavailable name is refused naming the property, and a node on each transport relaying a
 * CONNECT tunnel, forwarding a request and terminating TLS for a backend over real sockets (the
 * rest of the suite runs on what {@code auto} picks: io_uring where the kernel allows it).
 */
class NetworkTransportTest {
  static Vertx vertx;
  static Origin origin;
  static TestPki.Ca ca;
  static Path certs;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    origin = new Origin(vertx);
    ca = TestPki.ca("Transport Test CA");
    certs = dir.resolve("certs");
    ca.server("site.test", "site.test").write(certs, "site");
  }

  @AfterAll
  static void stop() {
    origin.close();
    Await.result(vertx.close());
    assertEquals(List.of(), origin.errors);
  }

  private String transportProperty;
  private String nativeProperty;

  /** Each test sets what it needs; the suite's own settings (a -Dtollgate.transport run) come back after it. */
  @BeforeEach
  void clearProperties() {
    transportProperty = System.clearProperty(NetworkTransport.PROPERTY);
    nativeProperty = System.clearProperty("tollgate.nativeTransport");
  }

  @AfterEach
  void restoreProperties() {
    restore(NetworkTransport.PROPERTY, transportProperty);
    restore("tollgate.nativeTransport", nativeProperty);
  }

  private static void restore(String name, String value) {
    if (value == null) {
      System.clearProperty(name);
    } else {
      System.setProperty(name, value);
    }
  }

  @Test
  void autoTakesIoUringThenEpollThenNio() {
    Transport expected = Transport.NIO;
    if (Transport.EPOLL != null && Transport.EPOLL.available()) {
      expected = Transport.EPOLL;
    }
    if (Transport.IO_URING != null && Transport.IO_URING.available()) {
      expected = Transport.IO_URING;
    }
    assertSame(expected, NetworkTransport.choose("auto"));
    assertSame(expected, NetworkTransport.chosen(), "auto is the default");
  }

  @Test
  void theOlderSwitchStillMeansNio() {
    System.setProperty("tollgate.nativeTransport", "false");
    assertSame(Transport.NIO, NetworkTransport.chosen());
    System.setProperty(NetworkTransport.PROPERTY, "epoll");
    assertEquals("epoll", NetworkTransport.chosen().name(), "the new property wins");
  }

  @Test
  void anUnknownNameIsRefusedNamingTheProperty() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NetworkTransport.choose("uring"));
    assertEquals("tollgate.transport: unknown transport 'uring' (one of auto, io_uring, epoll, nio)", e.getMessage());
  }

  @Test
  void aNodeAskedForAnUnknownTransportDoesNotStart(@TempDir Path dir) {
    System.setProperty(NetworkTransport.PROPERTY, "kqueue");
    Throwable cause = Node.start(NodeConfig.fromJson(TestNodes.config(dir, List.of())), 1).cause();
    assertTrue(cause instanceof IllegalArgumentException, String.valueOf(cause));
    assertEquals("tollgate.transport: unknown transport 'kqueue' (one of auto, io_uring, epoll, nio)", cause.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"io_uring", "epoll", "nio"})
  void aNodeRelaysForwardsAndTerminatesOn(String name, @TempDir Path dir) throws Exception {
    Transport transport = "io_uring".equals(name) ? Transport.IO_URING : "epoll".equals(name) ? Transport.EPOLL : Transport.NIO;
    assumeTrue(transport != null && transport.available(), name + " is not available here");
    System.setProperty(NetworkTransport.PROPERTY, name);
    JsonObject config =
        TestNodes.config(dir, List.of(origin.echoPort()))
            .put("terminate", new JsonArray().add(TestNodes.terminateListener("site", certs, "site", "http://127.0.0.1:" + origin.httpPort())));
    Node node = TestNodes.start(config);
    try {
      assertEquals(name, node.transport());

      // CONNECT: a MiB there and back through the tunnel
      try (Raw raw = new Raw(node.proxyPort())) {
        String target = "127.0.0.1:" + origin.echoPort();
        raw.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
        assertEquals(200, Raw.status(raw.readHead()));
        byte[] data = new byte[1 << 20];
        new Random(7).nextBytes(data);
        Thread writer = new Thread(() -> {
          try {
            raw.send(data);
          } catch (java.io.IOException ignored) {
            // the comparison below fails
          }
        });
        writer.start();
        assertArrayEquals(data, raw.readN(data.length));
        writer.join();
      }

      // a forwarded request in absolute form
      try (Raw raw = new Raw(node.proxyPort())) {
        raw.send("GET http://127.0.0.1:" + origin.httpPort() + "/hello HTTP/1.1\r\nHost: 127.0.0.1:" + origin.httpPort() + "\r\nConnection: close\r\n\r\n");
        String head = raw.readHead();
        assertEquals(200, Raw.status(head), head);
        assertEquals("hello", new String(raw.readN(5), StandardCharsets.US_ASCII));
      }

      // TLS terminated for a plain backend: two kept-alive requests, 100 kB each
      try (Raw raw = new Raw(TlsClients.socket(node.terminatePort("site"), "site.test", ca.certPem()))) {
        for (int i = 0; i < 2; i++) {
          raw.send("GET /bytes?n=100000 HTTP/1.1\r\nHost: site.test\r\n\r\n");
          TerminateFastPathTest.Answer answer = TerminateFastPathTest.read(raw, false);
          assertEquals(200, answer.status(), answer.head());
          assertEquals(100_000, answer.body().length);
        }
      }
    } finally {
      Await.result(node.stop());
    }
  }
}
