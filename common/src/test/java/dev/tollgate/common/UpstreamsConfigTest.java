package dev.tollgate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UpstreamsConfigTest {

  @Test
  void noUpstreamsByDefault() {
    assertEquals(List.of(), NodeConfig.defaults().upstreams());
  }

  @Test
  void aFullEntryReadsAndRoundTrips() {
    JsonObject json = new JsonObject("""
        {"upstreams": {
          "One.Example.COM.": {"dial": "one.lb.internal:8443", "sni": "one.example.com", "verifyName": "api.example.com",
                               "trust": ["/etc/ca1.pem", "/etc/ca2.pem"], "clientCert": "/etc/c.pem", "clientKey": "/etc/k.pem"},
          "two.example.com:8443": {"dial": "10.0.0.2:443"},
          "[::1]:443": {"verifyName": "::1"}}}
        """);
    NodeConfig c = NodeConfig.fromJson(json);
    UpstreamConfig one = c.upstreams().get(0);
    assertEquals("one.example.com", one.host());
    assertEquals(0, one.port());
    assertEquals(HostPort.parse("one.lb.internal:8443"), one.dial());
    assertEquals("one.example.com", one.effectiveSni());
    assertEquals("api.example.com", one.effectiveVerifyName());
    assertEquals(List.of(Path.of("/etc/ca1.pem"), Path.of("/etc/ca2.pem")), one.trust());
    assertEquals(Path.of("/etc/k.pem"), one.clientKey());
    UpstreamConfig two = c.upstreams().get(1);
    assertEquals("two.example.com:8443", two.key());
    assertEquals(false, two.customizesTls());
    assertNull(two.sni());
    assertEquals("two.example.com", two.effectiveVerifyName(), "verifyName defaults to sni, which defaults to the host");
    assertEquals("[::1]:443", c.upstreams().get(2).key());
    assertEquals(c, NodeConfig.fromJson(c.toJson()));
  }

  @Test
  void verifyNameDefaultsToSni() {
    NodeConfig c = NodeConfig.fromJson(new JsonObject().put("upstreams", new JsonObject().put("a.test", new JsonObject().put("sni", "b.test"))));
    assertEquals("b.test", c.upstreams().get(0).effectiveVerifyName());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"upstreams\": []}|upstreams",
        "{\"upstreams\": {\"a.test\": \"127.0.0.1:1\"}}|upstreams[a.test]",
        "{\"upstreams\": {\"a.test\": {}}}|upstreams[a.test]",
        "{\"upstreams\": {\"a.test\": {\"dail\": \"127.0.0.1:1\"}}}|upstreams[a.test].dail",
        "{\"upstreams\": {\"a.test\": {\"dial\": \"127.0.0.1\"}}}|upstreams[a.test].dial",
        "{\"upstreams\": {\"a.test\": {\"dial\": \"127.0.0.1:0\"}}}|upstreams[a.test].dial",
        "{\"upstreams\": {\"a.test\": {\"dial\": 8443}}}|upstreams[a.test].dial",
        "{\"upstreams\": {\"a.test\": {\"sni\": \"127.0.0.1\"}}}|upstreams[a.test].sni",
        "{\"upstreams\": {\"a.test\": {\"sni\": \"bad name\"}}}|upstreams[a.test].sni",
        "{\"upstreams\": {\"a.test\": {\"verifyName\": \"*.a.test\"}}}|upstreams[a.test].verifyName",
        "{\"upstreams\": {\"a.test\": {\"trust\": \"ca.pem\"}}}|upstreams[a.test].trust",
        "{\"upstreams\": {\"a.test\": {\"trust\": [\"\"]}}}|upstreams[a.test].trust[0]",
        "{\"upstreams\": {\"a.test\": {\"clientCert\": \"c.pem\"}}}|upstreams[a.test].clientKey",
        "{\"upstreams\": {\"a.test\": {\"clientKey\": \"k.pem\"}}}|upstreams[a.test].clientCert",
        "{\"upstreams\": {\"a test\": {\"sni\": \"a.test\"}}}|upstreams[a test]",
        "{\"upstreams\": {\"a.test:0\": {\"sni\": \"a.test\"}}}|upstreams[a.test:0]",
        "{\"upstreams\": {\"a.test:x\": {\"sni\": \"a.test\"}}}|upstreams[a.test:x]",
        "{\"upstreams\": {\"a.test\": {\"sni\": \"a.test\"}, \"A.TEST.\": {\"sni\": \"b.test\"}}}|upstreams[A.TEST.]",
      })
  void errorsNameTheKey(String json, String key) {
    ConfigException e = assertThrows(ConfigException.class, () -> NodeConfig.fromJson(new JsonObject(json)));
    assertEquals(key, e.key(), e.getMessage());
    assertTrue(e.getMessage().startsWith(key + ": "), e.getMessage());
  }
}
