package dev.tollgate.mitm.impl;

import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.mitm.LeafCertificate;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.bouncycastle.cert.X509CertificateHolder;

/** {@link CertificateAuthority} with BouncyCastle; see {@link Crypto} for the provider choice. */
public final class BcCertificateAuthority implements CertificateAuthority {
  /** Clients and servers disagree on the time by minutes; a leaf valid from "now" fails on them. */
  static final Duration BACKDATE = Duration.ofHours(1);

  private final CaMaterial material;
  private final CaOptions options;
  private final Clock clock;
  private final LeafSigner signer;
  private final CaConstraints constraints;
  private final String certificatePem;

  private BcCertificateAuthority(CaMaterial material, CaOptions options, Clock clock) {
    this.material = material;
    this.options = new CaOptions(options);
    this.clock = clock;
    this.signer = new LeafSigner(material);
    try {
      this.constraints = CaConstraints.of(new X509CertificateHolder(material.certificate().getEncoded()).getExtensions());
      StringBuilder pem = new StringBuilder();
      for (X509Certificate c : material.chain()) {
        pem.append(Crypto.pem("CERTIFICATE", c.getEncoded()));
      }
      this.certificatePem = pem.toString();
    } catch (CertificateEncodingException | IOException e) {
      throw new IllegalStateException("cannot encode the CA certificate", e);
    }
  }

  public static BcCertificateAuthority create(CaOptions options) {
    return new BcCertificateAuthority(RootCa.create(options, Instant.now()), options, Clock.systemUTC());
  }

  public static BcCertificateAuthority fromPem(String certificatePem, String keyPem, CaOptions options) {
    return new BcCertificateAuthority(CaPem.parse(certificatePem, keyPem, Instant.now()), options, Clock.systemUTC());
  }

  @Override
  public void save(Path dir) throws IOException {
    CaFiles.write(dir, certificatePem, Crypto.pem("PRIVATE KEY", material.key().getEncoded()));
  }

  @Override
  public X509Certificate certificate() {
    return material.certificate();
  }

  @Override
  public String certificatePem() {
    return certificatePem;
  }

  @Override
  public LeafCertificate mint(String name) {
    LeafName leafName = LeafName.parse(name);
    constraints.check(LeafSigner.san(leafName), leafName.text());
    Instant now = clock.instant();
    Instant caEnd = material.certificate().getNotAfter().toInstant();
    if (!now.isBefore(caEnd)) {
      throw new IllegalStateException("the CA expired on " + caEnd + "; create a new one and distribute it");
    }
    Instant notBefore = now.minus(BACKDATE);
    Instant notAfter = notBefore.plus(options.getLeafValidity());
    return signer.sign(leafName, options.getLeafKeyAlgorithm(), notBefore, notAfter.isAfter(caEnd) ? caEnd : notAfter);
  }

  @Override
  public CertificateAuthority withClock(Clock clock) {
    return new BcCertificateAuthority(material, options, clock);
  }

  @Override
  public String toString() {
    return "CertificateAuthority[" + certificate().getSubjectX500Principal().getName() + "]";
  }
}
