package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports how long minting takes. It asserts nothing about time (machines differ); the numbers
 * are for the logs and for sizing the worker pool.
 */
class MintTimingTest {
  private static final Logger LOG = LoggerFactory.getLogger(MintTimingTest.class);

  @Test
  void ecLeafUnderAnEcCa() {
    report("EC P-256 leaf, EC P-256 CA", CertificateAuthority.create(new CaOptions()), 200);
  }

  @Test
  void ecLeafUnderAnRsaCa() {
    report("EC P-256 leaf, RSA 2048 CA", CertificateAuthority.create(new CaOptions().setKeyAlgorithm(KeyAlgorithm.RSA_2048)), 200);
  }

  @Test
  void rsaLeafUnderAnRsaCa() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(new CaOptions().setKeyAlgorithm(KeyAlgorithm.RSA_2048));
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("ca");
    ca.save(dir);
    CertificateAuthority rsaLeaves = CertificateAuthority.load(dir, new CaOptions().setLeafKeyAlgorithm(KeyAlgorithm.RSA_2048));
    report("RSA 2048 leaf, RSA 2048 CA", rsaLeaves, 21);
  }

  private static void report(String what, CertificateAuthority ca, int samples) {
    for (int i = 0; i < samples; i++) { // the JIT needs a few hundred EC mints to settle
      ca.mint("warmup-" + i + ".example.com");
    }
    long[] nanos = new long[samples];
    for (int i = 0; i < samples; i++) {
      long start = System.nanoTime();
      LeafCertificate leaf = ca.mint("host-" + i + ".example.com");
      nanos[i] = System.nanoTime() - start;
      assertEquals("host-" + i + ".example.com", leaf.name());
    }
    Arrays.sort(nanos);
    LOG.info("mint {}: median {} ms, p90 {} ms over {} mints", what,
        String.format("%.3f", nanos[samples / 2] / 1e6), String.format("%.3f", nanos[samples * 9 / 10] / 1e6), samples);
  }
}
