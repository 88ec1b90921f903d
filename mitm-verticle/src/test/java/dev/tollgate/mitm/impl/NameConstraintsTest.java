package dev.tollgate.mitm.impl;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.mitm.KeyAlgorithm;
import dev.tollgate.mitm.LeafCertificate;
import dev.tollgate.mitm.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidatorException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Name constraints, checked by validators rather than by reading our own encoding back. The
 * signer is used directly to make the leaves a constrained CA refuses to mint.
 */
class NameConstraintsTest {
  private static final CaMaterial DOMAINS =
      RootCa.create(new CaOptions().setPermittedDomains(List.of("example.com", "corp.test")), Instant.now());
  private static final CaMaterial RANGES =
      RootCa.create(new CaOptions().setPermittedIpRanges(List.of("10.0.0.0/8")), Instant.now());

  /** The CA one level below a test root, where the JDK enforces its constraints (see Pki). */
  private static final X509Certificate[] DOMAINS_CROSS = crossSigned(DOMAINS);
  private static final X509Certificate[] RANGES_CROSS = crossSigned(RANGES);

  @ParameterizedTest
  @CsvSource({
    "example.com, true",
    "www.example.com, true",
    "a.b.corp.test, true",
    "badexample.com, false",
    "example.org, false",
    "com, false",
    "10.1.2.3, false",
    "::1, false"
  })
  void theJdkEnforcesDomainConstraints(String name, boolean permitted) throws Exception {
    assertEquals(permitted, jdkAccepts(unchecked(DOMAINS, name), DOMAINS_CROSS), name);
  }

  @ParameterizedTest
  @CsvSource({"10.1.2.3, true", "10.255.255.255, true", "11.0.0.1, false", "example.com, false", "::ffff:10.0.0.1, true"})
  void theJdkEnforcesIpConstraints(String name, boolean permitted) throws Exception {
    assertEquals(permitted, jdkAccepts(unchecked(RANGES, name), RANGES_CROSS), name);
  }

  @Test
  void theJdkIgnoresConstraintsInATrustAnchorItself() throws Exception {
    // Why the tests above cross-sign: with the CA as anchor, the JDK accepts anything.
    assertDoesNotThrow(() -> Pki.validate(List.of(unchecked(DOMAINS, "example.org").certificate()), DOMAINS.certificate()));
  }

  @Test
  void mintRefusesWhatTheConstraintsForbid() {
    CertificateAuthority ca = CertificateAuthority.create(new CaOptions().setPermittedDomains(List.of("example.com")));
    assertEquals("www.example.com", ca.mint("www.example.com").name());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ca.mint("example.org"));
    assertTrue(e.getMessage().startsWith("the CA's name constraints do not permit example.org"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ca.mint("127.0.0.1"));
  }

  @Test
  void aCaLoadedFromPemKeepsItsConstraints(@TempDir Path dir) throws Exception {
    CertificateAuthority.create(new CaOptions().setPermittedDomains(List.of("example.com"))).save(dir);
    CertificateAuthority loaded = CertificateAuthority.load(dir, new CaOptions());
    assertThrows(IllegalArgumentException.class, () -> loaded.mint("example.org"));
  }

  /** OpenSSL, like browsers, honours constraints in the root itself; checked when it is installed. */
  @Test
  void opensslRefusesAForbiddenLeafUnderTheRootItself(@TempDir Path dir) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed");
    Path ca = Files.writeString(dir.resolve("ca.pem"), Crypto.pem("CERTIFICATE", DOMAINS.certificate().getEncoded()));
    assertEquals(0, openssl(ca, dir, unchecked(DOMAINS, "www.example.com")));
    assertEquals(2, openssl(ca, dir, unchecked(DOMAINS, "example.org")));
    assertEquals(2, openssl(ca, dir, unchecked(DOMAINS, "127.0.0.1")), "IPs are excluded when only domains are permitted");
  }

  private static int openssl(Path ca, Path dir, LeafCertificate leaf) throws Exception {
    Path file = Files.writeString(Files.createTempFile(dir, "leaf", ".pem"), Crypto.pem("CERTIFICATE", leaf.certificate().getEncoded()));
    Process p = new ProcessBuilder("/usr/bin/openssl", "verify", "-CAfile", ca.toString(), file.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.out").toFile()).start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    return p.exitValue();
  }

  private static X509Certificate[] crossSigned(CaMaterial ca) {
    try {
      return Pki.crossSigned(ca.certificate());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static LeafCertificate unchecked(CaMaterial ca, String name) {
    Instant now = Instant.now();
    return new LeafSigner(ca).sign(LeafName.parse(name), KeyAlgorithm.EC_P256, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
  }

  private static boolean jdkAccepts(LeafCertificate leaf, X509Certificate[] cross) throws Exception {
    try {
      Pki.validate(List.of(leaf.certificate(), cross[0]), cross[1]);
      return true;
    } catch (CertPathValidatorException e) {
      return false;
    }
  }
}
