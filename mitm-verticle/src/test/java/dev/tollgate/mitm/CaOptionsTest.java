package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tollgate.common.ConfigException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaOptionsTest {

  @Test
  void defaults() {
    CaOptions o = new CaOptions();
    assertEquals("", o.getName());
    assertEquals(KeyAlgorithm.EC_P256, o.getKeyAlgorithm());
    assertEquals(Duration.ofDays(3650), o.getValidity());
    assertEquals(List.of(), o.getPermittedDomains());
    assertEquals(List.of(), o.getPermittedIpRanges());
    assertEquals(KeyAlgorithm.EC_P256, o.getLeafKeyAlgorithm());
    assertEquals(Duration.ofDays(7), o.getLeafValidity());
  }

  @Test
  void emptyJsonGivesDefaults() {
    assertEquals(new CaOptions().toJson(), new CaOptions(new JsonObject()).toJson());
  }

  @Test
  void fullJsonRoundTripsAndCopies() {
    JsonObject json = new JsonObject()
        .put("name", "node-1")
        .put("keyAlgorithm", "RSA_2048")
        .put("validity", "365d")
        .put("permittedDomains", List.of("Example.com", "corp.test."))
        .put("permittedIpRanges", List.of("10.1.2.3/8", "fd00::/8"))
        .put("leafKeyAlgorithm", "RSA_2048")
        .put("leafValidity", "24h");
    CaOptions o = new CaOptions(json);
    assertEquals("node-1", o.getName());
    assertEquals(KeyAlgorithm.RSA_2048, o.getKeyAlgorithm());
    assertEquals(Duration.ofDays(365), o.getValidity());
    assertEquals(List.of("example.com", "corp.test"), o.getPermittedDomains());
    assertEquals(List.of("10.1.2.3/8", "fd00:0:0:0:0:0:0:0/8"), o.getPermittedIpRanges());
    assertEquals(KeyAlgorithm.RSA_2048, o.getLeafKeyAlgorithm());
    assertEquals(Duration.ofHours(24), o.getLeafValidity());
    assertEquals(o.toJson(), new CaOptions(o.toJson()).toJson());
    assertEquals(o.toJson(), new CaOptions(o).toJson());
  }

  @Test
  void settersValidateAtOnce() {
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setLeafValidity(Duration.ofDays(31)));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setLeafValidity(Duration.ofHours(1)));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setValidity(Duration.ofHours(1)));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setPermittedDomains(List.of("*.example.com")));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setPermittedDomains(List.of("10.0.0.1")));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setPermittedIpRanges(List.of("example.com")));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setName("x".repeat(53)));
    assertThrows(ConfigException.class, () -> new CaOptions(new JsonObject().put("leafValidity", "soon")));
  }
}
