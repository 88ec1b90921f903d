package dev.tollgate.ingress.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AuthPartsTest {

  private static String basic(String userPass) {
    return "Basic " + Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void parsesBasicCredentials() {
    BasicCredentials c = BasicCredentials.parse(basic("alice:s3cret:with:colons"));
    assertEquals("alice", c.user());
    assertEquals("s3cret:with:colons", c.password());
    assertFalse(c.toString().contains("s3cret"), "toString never shows the password");
    assertEquals("bob", BasicCredentials.parse("  basic " + Base64.getEncoder().encodeToString("bob:x".getBytes())).user());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Basic", "Basic !!!", "Bearer abc", "Basic Ym9i", "Basic OnBhc3M="})
  void refusesMalformedHeaders(String header) {
    assertNull(BasicCredentials.parse(header));
  }

  @Test
  void bcryptVariantsVerify() {
    String y = PasswordHashes.hash("pw".toCharArray());
    assertTrue(y.startsWith("$2y$10$"));
    assertTrue(PasswordHashes.verify("pw", y));
    assertFalse(PasswordHashes.verify("pW", y));
    assertTrue(PasswordHashes.verify("pw", "$2a$" + y.substring(4)), "$2a$ verifies");
    assertTrue(PasswordHashes.verify("pw", "$2b$" + y.substring(4)), "$2b$ verifies");
    assertFalse(PasswordHashes.verify("pw", "not a hash"));
  }

  @Test
  void cacheRemembersOnlyVerifiedCredentialsForItsTtl() {
    CredentialCache cache = new CredentialCache(2, 1_000);
    BasicCredentials alice = new BasicCredentials("alice", "pw");
    assertFalse(cache.contains(alice, "h1", 0));
    cache.put(alice, "h1", 0);
    assertTrue(cache.contains(alice, "h1", 500));
    assertFalse(cache.contains(new BasicCredentials("alice", "other"), "h1", 500), "another password misses");
    assertFalse(cache.contains(alice, "h2", 500), "a changed hash misses");
    assertFalse(cache.contains(alice, "h1", 2_000), "expired");
    cache.put(new BasicCredentials("a", "1"), "h", 0);
    cache.put(new BasicCredentials("b", "1"), "h", 0);
    cache.put(new BasicCredentials("c", "1"), "h", 0);
    assertEquals(2, cache.size(), "bounded");
  }

  @Test
  void backoffGrowsThenForgets() {
    FailureBackoff b = new FailureBackoff(100);
    long t = 0;
    assertEquals(0, b.failed("1.2.3.4", t));
    assertEquals(0, b.failed("1.2.3.4", t));
    assertEquals(0, b.failed("1.2.3.4", t));
    assertEquals(100, b.failed("1.2.3.4", t));
    assertEquals(200, b.failed("1.2.3.4", t));
    assertEquals(400, b.failed("1.2.3.4", t));
    for (int i = 0; i < 20; i++) {
      b.failed("1.2.3.4", t);
    }
    assertEquals(FailureBackoff.MAX_DELAY_MILLIS, b.failed("1.2.3.4", t));
    assertEquals(0, b.failed("5.6.7.8", t), "other addresses are not affected");
    assertEquals(0, b.failed("1.2.3.4", t + FailureBackoff.FORGET_AFTER_NANOS + 1), "forgotten after a quiet period");
    b.succeeded("5.6.7.8");
  }
}
