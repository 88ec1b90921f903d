package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class MintTest {
  private static final CertificateAuthority CA = CertificateAuthority.create(new CaOptions().setName("mint"));

  @Test
  void aDnsLeafCarriesTheServerProfile() throws Exception {
    LeafCertificate leaf = CA.mint("www.example.com");
    X509Certificate cert = leaf.certificate();
    assertEquals("CN=www.example.com", cert.getSubjectX500Principal().getName());
    assertEquals(CA.certificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
    assertEquals(List.of(List.of(2, "www.example.com")), sans(cert));
    assertEquals(-1, cert.getBasicConstraints(), "not a CA");
    boolean[] usage = cert.getKeyUsage();
    assertTrue(usage[0], "digitalSignature");
    assertFalse(usage[2], "no keyEncipherment for an EC key");
    assertEquals(List.of("1.3.6.1.5.5.7.3.1"), cert.getExtendedKeyUsage());
    assertNotNull(cert.getExtensionValue("2.5.29.35"), "authority key identifier");
    assertEquals("EC", cert.getPublicKey().getAlgorithm());
    assertEquals("EC", leaf.privateKey().getAlgorithm());
    assertEquals(2, leaf.chain().length);
    assertArrayEquals(CA.certificate().getEncoded(), leaf.chain()[1].getEncoded());
    Pki.validate(leaf, CA.certificate());
  }

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1, 127.0.0.1",
    "2130706433, 127.0.0.1",
    "0x7f.1, 127.0.0.1",
    "[::1], 0:0:0:0:0:0:0:1",
    "2001:DB8::1, 2001:db8:0:0:0:0:0:1"
  })
  void anIpLeafHasAnIpAddressSan(String written, String canonical) throws Exception {
    LeafCertificate leaf = CA.mint(written);
    assertEquals(canonical, leaf.name());
    assertEquals(List.of(List.of(7, canonical)), sans(leaf.certificate()));
    Pki.validate(leaf, CA.certificate());
  }

  @Test
  void namesAreCanonical() {
    assertEquals("example.com", CA.mint("Example.COM.").name());
    assertEquals(List.of(List.of(2, "example.com")), sans(CA.mint("EXAMPLE.com").certificate()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "*.example.com", "bad name", "exa mple.com", "bücher.de", "a..b", ".example.com", "example.com.."})
  void refusesWhatIsNotAHostName(String name) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CA.mint(name));
    assertFalse(e.getMessage().isEmpty());
  }

  @Test
  void aNameTooLongForACnLivesInACriticalSanAlone() throws Exception {
    String name = "a".repeat(60) + ".example.com";
    LeafCertificate leaf = CA.mint(name);
    assertEquals("", leaf.certificate().getSubjectX500Principal().getName());
    assertTrue(leaf.certificate().getCriticalExtensionOIDs().contains("2.5.29.17"));
    Pki.validate(leaf, CA.certificate());
  }

  @Test
  void validityStartsAnHourAgoAndNeverExceedsThirtyDays() {
    Instant now = Instant.parse("2030-01-01T00:00:00Z");
    CertificateAuthority ca =
        CertificateAuthority.create(new CaOptions().setLeafValidity(Duration.ofDays(30)).setValidity(Duration.ofDays(36500)))
            .withClock(Clock.fixed(now, ZoneOffset.UTC));
    LeafCertificate leaf = ca.mint("example.com");
    assertEquals(now.minus(Duration.ofHours(1)), leaf.notBefore());
    assertEquals(Duration.ofDays(30), Duration.between(leaf.notBefore(), leaf.notAfter()));
    assertThrows(IllegalArgumentException.class, () -> new CaOptions().setLeafValidity(Duration.ofDays(31)));

    LeafCertificate byDefault = CA.mint("example.com");
    assertEquals(CaOptions.DEFAULT_LEAF_VALIDITY, Duration.between(byDefault.notBefore(), byDefault.notAfter()));
  }

  @Test
  void aLeafNeverOutlivesItsCa() {
    CertificateAuthority ca = CertificateAuthority.create(new CaOptions().setValidity(Duration.ofDays(2)).setLeafValidity(Duration.ofDays(30)));
    assertEquals(ca.certificate().getNotAfter().toInstant(), ca.mint("example.com").notAfter());
  }

  @Test
  void everyLeafHasItsOwnKeyAndSerial() {
    LeafCertificate a = CA.mint("example.com");
    LeafCertificate b = CA.mint("example.com");
    assertNotEquals(a.certificate().getSerialNumber(), b.certificate().getSerialNumber());
    assertNotEquals(a.certificate().getPublicKey(), b.certificate().getPublicKey());
    assertTrue(a.certificate().getSerialNumber().signum() > 0);
  }

  @Test
  void rsaLeavesAddKeyEnciphermentAndRsaCasSignLeaves() throws Exception {
    CertificateAuthority rsaCa = CertificateAuthority.create(new CaOptions().setKeyAlgorithm(KeyAlgorithm.RSA_2048));
    LeafCertificate ecLeaf = rsaCa.mint("example.com");
    assertEquals("SHA256withRSA", ecLeaf.certificate().getSigAlgName());
    Pki.validate(ecLeaf, rsaCa.certificate());

    CertificateAuthority rsaLeaves = CertificateAuthority.fromPem(
        rsaCa.certificatePem(), keyPemOf(rsaCa), new CaOptions().setLeafKeyAlgorithm(KeyAlgorithm.RSA_2048));
    LeafCertificate rsaLeaf = rsaLeaves.mint("example.com");
    assertEquals("RSA", rsaLeaf.privateKey().getAlgorithm());
    assertTrue(rsaLeaf.certificate().getKeyUsage()[2], "keyEncipherment");
    Pki.validate(rsaLeaf, rsaCa.certificate());
  }

  @Test
  void pemFormHoldsTheChainAndAPkcs8Key() {
    PemKeyPair pem = CA.mint("example.com").toPem();
    assertEquals(2, pem.certificatePem().split("-----BEGIN CERTIFICATE-----", -1).length - 1);
    assertTrue(pem.certificatePem().endsWith(CA.certificatePem()), "leaf first, then the CA");
    assertTrue(pem.privateKeyPem().startsWith("-----BEGIN PRIVATE KEY-----\n"));
  }

  static List<List<?>> sans(X509Certificate cert) {
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      return List.copyOf(names);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String keyPemOf(CertificateAuthority ca) throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("ca");
    try {
      ca.save(dir);
      return java.nio.file.Files.readString(dir.resolve(CertificateAuthority.KEY_FILE));
    } finally {
      for (String f : List.of(CertificateAuthority.KEY_FILE, CertificateAuthority.CERT_FILE)) {
        java.nio.file.Files.deleteIfExists(dir.resolve(f));
      }
      java.nio.file.Files.delete(dir);
    }
  }
}
