package dev.tollgate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NodeConfigTest {

  @Test
  void defaults() {
    NodeConfig c = NodeConfig.defaults();
    assertEquals(HostPort.parse("127.0.0.1:3128"), c.proxyListen());
    assertEquals(HostPort.parse("127.0.0.1:9090"), c.controlListen());
    assertEquals(Path.of("./data"), c.dataDir());
    assertFalse(c.hasTlsListener());
    assertNull(c.proxyTlsCert());
    assertNull(c.controlToken());
    assertEquals(Set.of(443), c.connectPorts());
    assertEquals(List.of(), c.allowPrivate());
    assertFalse(c.xForwardedFor());
    assertEquals(Duration.ofSeconds(10), c.timeouts().connect());
    assertEquals(Duration.ofMinutes(5), c.timeouts().idle());
    assertEquals(Duration.ofHours(1), c.timeouts().maxLifetime());
    assertEquals(Duration.ofSeconds(30), c.timeouts().header());
    assertEquals(8 * 1024 * 1024, c.ca().rewriteMaxBody());
    assertEquals(Duration.ofSeconds(30), c.drainTimeout());
    assertEquals(Duration.ZERO, c.drainDelay());
  }

  @ParameterizedTest(name = "{0} -> {1} ms")
  @CsvSource({"'\"2s\"', 2000", "'\"1500ms\"', 1500", "0, 0", "'\"0\"', 0", "'\"0s\"', 0"})
  void drainDelayMayBeZero(String value, long millis) {
    NodeConfig c = NodeConfig.fromJson(new JsonObject("{\"node\": {\"drainDelay\": " + value + "}}"));
    assertEquals(Duration.ofMillis(millis), c.drainDelay());
    assertEquals(c, NodeConfig.fromJson(c.toJson()));
  }

  @Test
  void rewriteMaxBodyIsReadAndWrittenBack() {
    NodeConfig c = NodeConfig.fromJson(new JsonObject("{\"mitm\": {\"rewriteMaxBody\": 65536}}"));
    assertEquals(65536, c.ca().rewriteMaxBody());
    assertEquals(c, NodeConfig.fromJson(c.toJson()));
  }

  @Test
  void fullJsonRoundTrips() {
    JsonObject json =
        new JsonObject(
            """
            {"proxy": {"listen": "0.0.0.0:8080", "xForwardedFor": true, "maxHeaderSize": 4096, "maxUriLength": 1024,
                       "tls": {"listen": "[::1]:8443", "cert": "/etc/c.pem", "key": "/etc/k.pem"}},
             "control": {"listen": "127.0.0.1:9999", "token": "0123456789abcdef-token"},
             "node": {"name": "n1", "dataDir": "/var/lib/tollgate", "drainTimeout": "10s", "drainDelay": "3s"},
             "network": {"allowPrivate": ["10.0.0.0/8", "fd00::/8"], "connectPorts": [443, 8443]},
             "timeouts": {"connect": "2s", "idle": "90s", "maxLifetime": "2h", "header": "500ms"},
             "policy": "/etc/tollgate/policy.json"}
            """);
    NodeConfig c = NodeConfig.fromJson(json);
    assertEquals(HostPort.parse("[::1]:8443"), c.proxyTlsListen());
    assertEquals(Path.of("/etc/c.pem"), c.proxyTlsCert());
    assertEquals(Set.of(443, 8443), c.connectPorts());
    assertEquals(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("fd00::/8")), c.allowPrivate());
    assertEquals(Duration.ofMillis(500), c.timeouts().header());
    assertEquals(Duration.ofSeconds(90), c.timeouts().idle());
    assertEquals("0123456789abcdef-token", c.controlToken());
    assertEquals(Path.of("/etc/tollgate/policy.json"), c.policySeed());
    assertEquals(Duration.ofSeconds(3), c.drainDelay());
    assertEquals(c, NodeConfig.fromJson(c.toJson()));
    assertEquals(NodeConfig.defaults(), NodeConfig.fromJson(NodeConfig.defaults().toJson()));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"proxy\": {\"listen\": \"nope\"}}|proxy.listen",
        "{\"proxy\": {\"listen\": 3128}}|proxy.listen",
        "{\"proxy\": {\"lisen\": \"127.0.0.1:1\"}}|proxy.lisen",
        "{\"proxy\": 5}|proxy",
        "{\"bogus\": 1}|bogus",
        "{\"proxy\": {\"tls\": {\"cert\": \"/c.pem\"}}}|proxy.tls.key",
        "{\"proxy\": {\"tls\": {\"cert\": \"/c\", \"key\": \"/k\"}}}|proxy.tls.listen",
        "{\"proxy\": {\"maxHeaderSize\": 10}}|proxy.maxHeaderSize",
        "{\"control\": {\"listen\": \"h:99999\"}}|control.listen",
        "{\"node\": {\"name\": \"bad name\"}}|node.name",
        "{\"network\": {\"allowPrivate\": [\"10.0.0.0/8\", \"x\"]}}|network.allowPrivate[1]",
        "{\"network\": {\"allowPrivate\": \"10.0.0.0/8\"}}|network.allowPrivate",
        "{\"network\": {\"connectPorts\": [443, 0]}}|network.connectPorts[1]",
        "{\"network\": {\"connectPorts\": [\"443\"]}}|network.connectPorts[0]",
        "{\"timeouts\": {\"idle\": \"5 parsecs\"}}|timeouts.idle",
        "{\"timeouts\": {\"connect\": \"0s\"}}|timeouts.connect",
        "{\"timeouts\": {\"keepAlive\": \"1s\"}}|timeouts.keepAlive",
        "{\"control\": {\"token\": \"short\"}}|control.token",
        "{\"accessLog\": {\"format\": \"apache\"}}|accessLog.format",
        "{\"accessLog\": {\"fiel\": \"x\"}}|accessLog.fiel",
        "{\"control\": {\"token\": \"has a space in it, sadly\"}}|control.token",
        "{\"mitm\": {\"rewriteMaxBody\": -1}}|mitm.rewriteMaxBody",
        "{\"node\": {\"drainDelay\": \"-1s\"}}|node.drainDelay",
        "{\"node\": {\"drainDelay\": -1}}|node.drainDelay",
        "{\"node\": {\"drainTimeout\": \"0s\"}}|node.drainTimeout",
        "{\"mitm\": {\"rewriteMaxBody\": \"8MiB\"}}|mitm.rewriteMaxBody",
      })
  void rejectsNamingTheKey(String json, String key) {
    ConfigException e = assertThrows(ConfigException.class, () -> NodeConfig.fromJson(new JsonObject(json)));
    assertEquals(key, e.key(), e.getMessage());
  }

  @Test
  void loadsYaml(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("c.yaml");
    Files.writeString(
        f,
        """
        proxy:
          listen: 127.0.0.1:3000
        network:
          allowPrivate: [127.0.0.0/8]
          connectPorts: [443, 8443]
        timeouts:
          idle: 1m
        """);
    NodeConfig c = NodeConfig.fromJson(ConfigLoader.load(f));
    assertEquals(3000, c.proxyListen().port());
    assertEquals(Duration.ofMinutes(1), c.timeouts().idle());
    assertEquals(Set.of(443, 8443), c.connectPorts());
  }

  @Test
  void yamlThatDoesNotParseNamesTheFileAndLine(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "proxy:\n  listen: [unclosed\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f));
    assertEquals("--config", e.key());
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("bad.yaml"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"250ms, 250", "10s, 10000", "5m, 300000", "1h, 3600000", "PT2S, 2000", "1.5s, 1500"})
  void durations(String text, long millis) {
    assertEquals(Duration.ofMillis(millis), Durations.parse("k", text));
  }
}
