package dev.tollgate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.TerminateConfig.Backend;
import dev.tollgate.common.TerminateConfig.ClientAuth;
import dev.tollgate.common.TerminateConfig.Kind;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TerminateConfigTest {
  private static final String WEB =
      """
      {"name": "web", "listen": "0.0.0.0:8443", "cert": "/c.pem", "key": "/k.pem",
       "sni": {"A.example.com": {"cert": "/a.pem", "key": "/a-key.pem"}, "*.b.example": {"cert": "/b.pem", "key": "/b-key.pem"}},
       "routes": {"a.example.com": "http://127.0.0.1:8080", "*.b.example": "https://b.internal", "*": "http://[::1]:9000/"},
       "hsts": {"maxAge": "365d", "includeSubDomains": true, "preload": true},
       "redirectHttp": "0.0.0.0:8080", "clientAuth": "optional", "clientCa": "/ca.pem", "identityHeader": "X-Peer",
       "preserveHost": true}
      """;

  private static NodeConfig with(String listener) {
    return NodeConfig.fromJson(new JsonObject().put("terminate", new JsonArray().add(new JsonObject(listener))));
  }

  @Test
  void noneByDefault() {
    assertEquals(List.of(), NodeConfig.defaults().terminate());
  }

  @Test
  void fullListenerRoundTrips() {
    TerminateConfig t = with(WEB).terminate().get(0);
    assertEquals("web", t.name());
    assertEquals(Kind.HTTP, t.kind());
    assertEquals(HostPort.parse("0.0.0.0:8443"), t.listen());
    assertEquals(Path.of("/a.pem"), t.sni().get("a.example.com").cert());
    assertEquals(List.of("a.example.com", "*.b.example"), List.copyOf(t.sni().keySet()));
    assertEquals(new Backend(false, "127.0.0.1", 8080), t.routes().get("a.example.com"));
    assertEquals(new Backend(true, "b.internal", 443), t.routes().get("*.b.example"));
    assertEquals(new Backend(false, "::1", 9000), t.routes().get("*"));
    assertEquals("max-age=31536000; includeSubDomains; preload", t.hsts().headerValue());
    assertEquals(ClientAuth.OPTIONAL, t.clientAuth());
    assertEquals("X-Peer", t.identityHeader());
    assertTrue(t.preserveHost());
    NodeConfig c = with(WEB);
    assertEquals(c, NodeConfig.fromJson(c.toJson()));
  }

  @Test
  void tunnelServiceDefaultsToRequiredClientAuth() {
    TerminateConfig t =
        with("""
            {"listen": "127.0.0.1:0", "kind": "tunnelService", "cert": "/c", "key": "/k", "clientCa": "/ca", "backend": "https://db:5433"}
            """).terminate().get(0);
    assertEquals("terminate-0", t.name());
    assertEquals(ClientAuth.REQUIRED, t.clientAuth());
    assertEquals(new Backend(true, "db", 5433), t.backend());
    assertNull(t.hsts());
    assertFalse(t.preserveHost(), "backends get their own authority by default");
  }

  @Test
  void lookupPrefersExactThenLongestSuffixThenAny() {
    Map<String, String> table = Map.of("a.example.com", "exact", "*.example.com", "wild", "*.x.example.com", "deeper", "*", "any");
    assertEquals("exact", TerminateConfig.lookup(table, "a.example.com"));
    assertEquals("wild", TerminateConfig.lookup(table, "b.example.com"));
    assertEquals("deeper", TerminateConfig.lookup(table, "y.x.example.com"));
    assertEquals("any", TerminateConfig.lookup(table, "example.com"));
    assertNull(TerminateConfig.lookup(Map.of("*.example.com", "wild"), "example.com"));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}}|terminate[0].listen",
        "{\"listen\": \"x:1\", \"routes\": {\"*\": \"http://h:1\"}}|terminate[0].cert",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"routes\": {\"*\": \"http://h:1\"}}|terminate[0].key",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\"}|terminate[0].routes",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"ftp://h:1\"}}|terminate[0].routes.*",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"a..b\": \"http://h:1\"}}|terminate[0].routes.a..b",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1/path\"}}|terminate[0].routes.*",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"kind\": \"tcp\"}|terminate[0].kind",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"clientAuth\": \"required\"}|terminate[0].clientCa",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"clientCa\": \"/ca\"}|terminate[0].clientCa",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"identityHeader\": \"X-Forwarded-For\"}|terminate[0].identityHeader",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"hsts\": {\"maxAge\": \"1d\", \"preload\": true}}|terminate[0].hsts.preload",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"hsts\": {\"includeSubDomains\": true}}|terminate[0].hsts.maxAge",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"sni\": {\"a.b\": {\"cert\": \"/c\"}}}|terminate[0].sni.a.b.key",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"redirectHttp\": \"nope\"}|terminate[0].redirectHttp",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"tls\": true}|terminate[0].tls",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"kind\": \"tunnelService\", \"clientCa\": \"/ca\"}|terminate[0].backend",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"kind\": \"tunnelService\", \"clientCa\": \"/ca\", \"backend\": \"http://h:1\", \"clientAuth\": \"optional\"}|terminate[0].clientAuth",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"kind\": \"tunnelService\", \"clientCa\": \"/ca\", \"backend\": \"http://h:1\", \"hsts\": {\"maxAge\": 1}}|terminate[0].hsts",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"kind\": \"tunnelService\", \"clientCa\": \"/ca\", \"backend\": \"http://h:1\", \"preserveHost\": true}|terminate[0].preserveHost",
        "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"preserveHost\": \"yes\"}|terminate[0].preserveHost",
      })
  void rejectsNamingTheKey(String listener, String key) {
    ConfigException e = assertThrows(ConfigException.class, () -> with(listener));
    assertEquals(key, e.key(), e.getMessage());
  }

  @Test
  void namesAreUnique() {
    String one = "{\"name\": \"a\", \"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}}";
    JsonObject json = new JsonObject().put("terminate", new JsonArray().add(new JsonObject(one)).add(new JsonObject(one)));
    assertEquals("terminate[1].name", assertThrows(ConfigException.class, () -> NodeConfig.fromJson(json)).key());
  }

  @Test
  void hstsMaxAgeZeroIsAllowed() {
    String l = "{\"listen\": \"x:1\", \"cert\": \"/c\", \"key\": \"/k\", \"routes\": {\"*\": \"http://h:1\"}, \"hsts\": {\"maxAge\": 0}}";
    assertEquals(Duration.ZERO, with(l).terminate().get(0).hsts().maxAge());
  }
}
