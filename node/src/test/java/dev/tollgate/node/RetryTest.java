package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import dev.tollgate.testing.Raw;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stale pooled upstream connection: the origin answers the first request of each connection
 * with keep-alive, and closes the connection, unanswered, when a second request arrives on it —
 * what a client sees when a server times out an idle connection just as it is reused.
 */
class RetryTest {
  static ServerSocket origin;
  static Node node;
  static final AtomicInteger connections = new AtomicInteger();

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(() -> {
      while (!origin.isClosed()) {
        try {
          Socket s = origin.accept();
          connections.incrementAndGet();
          new Thread(() -> serveOnce(s)).start();
        } catch (IOException e) {
          return;
        }
      }
    });
    acceptor.setDaemon(true);
    acceptor.start();
    node = TestNodes.start(TestNodes.config(dir, List.of(443)));
  }

  /** Answers the first request (reading its body by Content-Length), then closes on the next one. */
  static void serveOnce(Socket s) {
    try (s) {
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      int length = 0;
      String line;
      while ((line = in.readLine()) != null && !line.isEmpty()) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      for (int i = 0; i < length; i++) {
        in.read();
      }
      OutputStream out = s.getOutputStream();
      out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      in.readLine(); // the next request on this connection: close without an answer
    } catch (IOException ignored) {
      // the proxy went away
    }
  }

  @AfterAll
  static void stop() throws IOException {
    Await.result(node.stop());
    origin.close();
  }

  static String send(String method, String body) throws IOException {
    try (Raw raw = new Raw(node.proxyPort())) {
      String extra = body == null ? "" : "Content-Length: " + body.length() + "\r\n";
      raw.send(method + " http://127.0.0.1:" + origin.getLocalPort() + "/ HTTP/1.1\r\nHost: x\r\n" + extra + "Connection: close\r\n\r\n" + (body == null ? "" : body));
      return raw.readHead();
    }
  }

  @Test
  void aStaleConnectionIsRetriedForGetButNotForPost() throws Exception {
    assertEquals(200, Raw.status(send("GET", null)), "the first request opens a connection, which goes back to the pool");
    int before = connections.get();
    assertEquals(200, Raw.status(send("GET", null)), "the reused connection is closed unanswered; the GET is sent again on a new one");
    assertEquals(before + 1, connections.get(), "exactly one retry, on a fresh connection");
    before = connections.get();
    String post = send("POST", "data");
    assertEquals(502, Raw.status(post), "a POST on the stale connection is never sent twice: " + post);
    assertEquals(before, connections.get(), "no new connection for the POST");
  }
}
