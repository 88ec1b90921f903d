package dev.tollgate.mitm.impl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.mitm.CaOptions;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class CaPemTest {
  private static final Instant NOW = Instant.parse("2030-06-01T00:00:00Z");

  @Test
  void refusesAnExpiredCa() throws Exception {
    CaMaterial old = RootCa.create(new CaOptions().setValidity(Duration.ofDays(1)), NOW.minus(Duration.ofDays(3)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CaPem.check(old.certificate(), old.key(), NOW));
    assertTrue(e.getMessage().endsWith(" expired on " + old.certificate().getNotAfter().toInstant()), e.getMessage());
  }

  @Test
  void refusesACaFromTheFuture() {
    CaMaterial future = RootCa.create(new CaOptions(), NOW.plus(Duration.ofDays(3)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CaPem.check(future.certificate(), future.key(), NOW));
    assertTrue(e.getMessage().endsWith("(check the clock)"), e.getMessage());
  }

  @Test
  void skipsEcParametersBeforeASec1Key() throws Exception {
    CaMaterial ca = RootCa.create(new CaOptions(), NOW);
    String sec1 = dev.tollgate.mitm.Pki.traditionalPem(ca.key());
    // openssl ecparam -genkey writes the curve first.
    String withParams = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + sec1;
    assertTrue(withParams.contains("-----BEGIN EC PRIVATE KEY-----"));
    CaPem.check(ca.certificate(), CaPem.privateKey(withParams), NOW);
  }
}
