package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.testing.Raw;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runnable node: command line, config errors, the ready line and a clean SIGTERM. */
class MainTest {

  private static List<String> ports(Path dir) {
    return List.of("--proxy-listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--data-dir", dir.toString());
  }

  @Test
  void helpListsEveryOption() throws Exception {
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("--help"))) {
      assertEquals(0, n.waitFor(30));
      for (String option : List.of("--config", "--proxy-listen", "--proxy-tls-listen", "--control-listen", "--data-dir", "--node-name", "--allow-private")) {
        assertTrue(n.output().contains(option), option + " missing from --help");
      }
    }
  }

  @Test
  void hashPasswordPrintsABcryptHash() throws Exception {
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("hash-password"))) {
      n.process().getOutputStream().write("correct horse\n".getBytes());
      n.process().getOutputStream().close();
      assertEquals(0, n.waitFor(30));
      String hash = n.output().lines().filter(l -> l.startsWith("$2y$")).findFirst().orElseThrow();
      assertTrue(dev.tollgate.ingress.auth.PasswordHashes.verify("correct horse", hash));
      assertTrue(!n.output().contains("correct horse"), "the password is not echoed");
    }
  }

  @Test
  void badOptionValueStopsTheNodeNamingTheKey(@TempDir Path dir) throws Exception {
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("--proxy-listen", "nowhere", "--data-dir", dir.toString()))) {
      assertEquals(2, n.waitFor(30));
      assertTrue(n.output().contains("proxy.listen"), n.output());
    }
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("--allow-private", "10.0.0.0/99"))) {
      assertEquals(2, n.waitFor(30));
      assertTrue(n.output().contains("network.allowPrivate[0]"), n.output());
    }
  }

  @Test
  void configFileThatDoesNotValidateNamesTheKey(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("tollgate.yaml");
    Files.writeString(config, "timeouts:\n  idle: soon\n");
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("--config", config.toString()))) {
      assertEquals(2, n.waitFor(30));
      assertTrue(n.output().contains("timeouts.idle"), n.output());
    }
    Files.writeString(config, "proxy: [unclosed\n");
    try (ForkedNode n = ForkedNode.start(List.of(), List.of("--config", config.toString()))) {
      assertEquals(2, n.waitFor(30));
      assertTrue(n.output().contains("does not parse"), n.output());
    }
  }

  @Test
  void aStartThatFailsExitsWithAReason(@TempDir Path dir) throws Exception {
    Path seed = dir.resolve("bad-policy.json");
    Files.writeString(seed, "{\"default\": \"maybe\"}");
    List<String> args = new java.util.ArrayList<>(ports(dir.resolve("data")));
    args.addAll(List.of("--policy", seed.toString()));
    try (ForkedNode n = ForkedNode.start(List.of(), args)) {
      assertEquals(1, n.waitFor(30), n.output());
      assertTrue(n.output().contains("failed to start") && n.output().contains("default"), n.output());
    }
  }

  @Test
  void readyLineThenCleanShutdownOnSigterm(@TempDir Path dir) throws Exception {
    try (ForkedNode n = ForkedNode.start(List.of(), ports(dir))) {
      int port = n.awaitReady();
      assertTrue(n.output().contains("control=http://127.0.0.1:"), n.output());
      try (Raw raw = new Raw(port)) {
        raw.send("CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(403, Raw.status(raw.readHead()), "secure by default: private targets are refused");
      }
      n.process().destroy(); // SIGTERM
      assertEquals(0, n.waitFor(30), n.output());
      assertThrows(java.net.ConnectException.class, () -> new Raw(port).close(), "the listener is gone");
    }
  }
}
