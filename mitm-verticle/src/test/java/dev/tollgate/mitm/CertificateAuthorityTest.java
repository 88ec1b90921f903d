package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificateAuthorityTest {
  private static final CertificateAuthority EC_CA = CertificateAuthority.create(new CaOptions().setName("test"));

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void aNewCaIsAConstrainedSelfSignedRoot(KeyAlgorithm algorithm) throws Exception {
    CertificateAuthority ca = algorithm == KeyAlgorithm.EC_P256 ? EC_CA : CertificateAuthority.create(new CaOptions().setName("test").setKeyAlgorithm(algorithm));
    X509Certificate cert = ca.certificate();
    assertEquals("CN=Tollgate CA test,O=Tollgate", cert.getSubjectX500Principal().getName());
    assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
    cert.verify(cert.getPublicKey());
    assertEquals(algorithm == KeyAlgorithm.EC_P256 ? "EC" : "RSA", cert.getPublicKey().getAlgorithm());
    assertEquals(0, cert.getBasicConstraints(), "CA:true, pathLen 0");
    assertTrue(cert.getCriticalExtensionOIDs().containsAll(List.of("2.5.29.19", "2.5.29.15")));
    boolean[] usage = cert.getKeyUsage();
    assertTrue(usage[5] && usage[6], "keyCertSign and cRLSign");
    assertFalse(usage[0], "no digitalSignature");
    assertNotNull(cert.getExtensionValue("2.5.29.14"), "subject key identifier");
    assertNull(cert.getExtensionValue("2.5.29.30"), "no name constraints unless asked");
    Duration validity = Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
    assertTrue(validity.toDays() >= 3650 && validity.toDays() <= 3651, "about ten years: " + validity);
  }

  @Test
  void aRandomNameKeepsTwoInstallationsApart() {
    String a = CertificateAuthority.create(new CaOptions()).certificate().getSubjectX500Principal().getName();
    String b = CertificateAuthority.create(new CaOptions()).certificate().getSubjectX500Principal().getName();
    assertTrue(a.matches("CN=Tollgate CA [0-9a-f]{8},O=Tollgate"), a);
    assertFalse(a.equals(b));
  }

  @Test
  void constrainedCaCarriesCriticalNameConstraints() {
    CertificateAuthority ca = CertificateAuthority.create(new CaOptions().setPermittedDomains(List.of("Example.COM.")));
    assertTrue(ca.certificate().getCriticalExtensionOIDs().contains("2.5.29.30"));
  }

  @Test
  void saveAndLoadRoundTripWithAPrivateKeyFile() throws Exception {
    Path caDir = dir.resolve("ca");
    EC_CA.save(caDir);
    Path key = caDir.resolve(CertificateAuthority.KEY_FILE);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir)));
    assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----\n"));
    assertEquals(EC_CA.certificatePem(), Files.readString(caDir.resolve(CertificateAuthority.CERT_FILE)));
    try (var files = Files.list(caDir)) {
      assertEquals(2, files.count(), "no temp files left behind");
    }

    CertificateAuthority loaded = CertificateAuthority.load(caDir, new CaOptions());
    assertArrayEquals(EC_CA.certificate().getEncoded(), loaded.certificate().getEncoded());
    Pki.validate(loaded.mint("example.com"), EC_CA.certificate());
  }

  @Test
  void loadOrCreateCreatesOnceThenLoads() throws Exception {
    CertificateAuthority first = CertificateAuthority.loadOrCreate(dir, new CaOptions().setName("one"));
    CertificateAuthority second = CertificateAuthority.loadOrCreate(dir, new CaOptions().setName("two"));
    assertArrayEquals(first.certificate().getEncoded(), second.certificate().getEncoded());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca-key.pem"))));
  }

  @Test
  void loadOrCreateRefusesHalfACa() throws Exception {
    Files.writeString(dir.resolve("ca.pem"), EC_CA.certificatePem());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> CertificateAuthority.loadOrCreate(dir, new CaOptions()));
    assertTrue(e.getMessage().contains("ca-key.pem is missing"), e.getMessage());
    assertEquals(EC_CA.certificatePem(), Files.readString(dir.resolve("ca.pem")), "nothing overwritten");
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void loadsTraditionalOpensslKeys(KeyAlgorithm algorithm) throws Exception {
    CertificateAuthority ca = algorithm == KeyAlgorithm.EC_P256 ? EC_CA : CertificateAuthority.create(new CaOptions().setKeyAlgorithm(algorithm));
    ca.save(dir);
    String sec1OrPkcs1 = Pki.traditionalPem(privateKey(Files.readString(dir.resolve("ca-key.pem"))));
    assertTrue(sec1OrPkcs1.startsWith(algorithm == KeyAlgorithm.EC_P256 ? "-----BEGIN EC PRIVATE KEY-----" : "-----BEGIN RSA PRIVATE KEY-----"));
    CertificateAuthority loaded = CertificateAuthority.fromPem(ca.certificatePem(), sec1OrPkcs1, new CaOptions());
    Pki.validate(loaded.mint("example.com"), ca.certificate());
  }

  @Test
  void refusesACertificateThatIsNotACa() {
    PemKeyPair server = Certificates.create().selfSigned("server", List.of("example.com"), Duration.ofDays(1));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem(server.certificatePem(), server.privateKeyPem(), new CaOptions()));
    assertEquals("the CA certificate (O=Tollgate,CN=server) is not a CA: it lacks basicConstraints CA:true", e.getMessage());
  }

  @Test
  void refusesAKeyOfAnotherCertificate() throws Exception {
    CertificateAuthority other = CertificateAuthority.create(new CaOptions());
    other.save(dir);
    String otherKey = Files.readString(dir.resolve("ca-key.pem"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem(EC_CA.certificatePem(), otherKey, new CaOptions()));
    assertEquals("the CA key does not match the CA certificate (CN=Tollgate CA test,O=Tollgate): it is the key of another certificate", e.getMessage());
  }

  @Test
  void refusesAKeyOfAnotherType() throws Exception {
    CertificateAuthority rsa = CertificateAuthority.create(new CaOptions().setKeyAlgorithm(KeyAlgorithm.RSA_2048));
    rsa.save(dir);
    String rsaKey = Files.readString(dir.resolve("ca-key.pem"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem(EC_CA.certificatePem(), rsaKey, new CaOptions()));
    assertTrue(e.getMessage().endsWith("the key is RSA, the certificate's is EC"), e.getMessage());
  }

  @Test
  void loadNamesTheDirectoryInItsComplaint() throws Exception {
    EC_CA.save(dir);
    Files.writeString(dir.resolve("ca-key.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.load(dir, new CaOptions()));
    assertTrue(e.getMessage().startsWith(dir + ": the CA key PEM"), e.getMessage());
  }

  @Test
  void refusesEmptyAndEncryptedKeys() throws Exception {
    IllegalArgumentException none =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem(EC_CA.certificatePem(), "", new CaOptions()));
    assertEquals("the CA key PEM holds no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block", none.getMessage());
    String encrypted = Pki.encryptedPem(privateKey(keyPem(EC_CA)));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem(EC_CA.certificatePem(), encrypted, new CaOptions()));
    assertTrue(e.getMessage().startsWith("the CA key is encrypted"), e.getMessage());
    IllegalArgumentException noCert =
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.fromPem("junk", "", new CaOptions()));
    assertEquals("the CA certificate PEM holds no CERTIFICATE block", noCert.getMessage());
  }

  @Test
  void mintingPastTheCasEndFailsWithTheDate() {
    CaOptions options = new CaOptions().setValidity(Duration.ofDays(1));
    CertificateAuthority shortLived = CertificateAuthority.create(options);
    // Minting with a clock past the CA's end fails with the date rather than making a dead leaf.
    CertificateAuthority later = shortLived.withClock(java.time.Clock.fixed(Instant.now().plus(Duration.ofDays(2)), java.time.ZoneOffset.UTC));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> later.mint("example.com"));
    assertTrue(e.getMessage().startsWith("the CA expired on "), e.getMessage());
  }

  private String keyPem(CertificateAuthority ca) throws Exception {
    Path d = Files.createTempDirectory(dir, "key");
    ca.save(d);
    return Files.readString(d.resolve(CertificateAuthority.KEY_FILE));
  }

  private static PrivateKey privateKey(String pem) throws Exception {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      return new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) parser.readObject());
    }
  }
}
