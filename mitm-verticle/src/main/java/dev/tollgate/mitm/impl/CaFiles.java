package dev.tollgate.mitm.impl;

import dev.tollgate.common.AtomicFiles;
import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The CA directory: {@code ca.pem} and {@code ca-key.pem}. Blocking: call from a worker. */
public final class CaFiles {
  private static final Logger LOG = LoggerFactory.getLogger(CaFiles.class);

  private CaFiles() {}

  public static CertificateAuthority load(Path dir, CaOptions options) throws IOException {
    Path cert = dir.resolve(CertificateAuthority.CERT_FILE);
    Path key = dir.resolve(CertificateAuthority.KEY_FILE);
    warnIfReadableByOthers(key);
    try {
      return BcCertificateAuthority.fromPem(Files.readString(cert), Files.readString(key), options);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
    }
  }

  public static CertificateAuthority loadOrCreate(Path dir, CaOptions options) throws IOException {
    Path cert = dir.resolve(CertificateAuthority.CERT_FILE);
    Path key = dir.resolve(CertificateAuthority.KEY_FILE);
    boolean hasCert = Files.exists(cert);
    boolean hasKey = Files.exists(key);
    if (hasCert && hasKey) {
      return load(dir, options);
    }
    if (hasCert || hasKey) {
      Path present = hasCert ? cert : key;
      Path missing = hasCert ? key : cert;
      throw new IllegalStateException(
          missing + " is missing but " + present + " exists; restore it, or remove " + present + " to create a new CA");
    }
    CertificateAuthority ca = BcCertificateAuthority.create(options);
    ca.save(dir);
    LOG.info("created the interception CA {} in {} (clients must trust {})",
        ca.certificate().getSubjectX500Principal().getName(), dir, cert);
    return ca;
  }

  /** Key first: a crash between the two writes leaves a key without a certificate, never the reverse. */
  static void write(Path dir, String certificatePem, String keyPem) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    AtomicFiles.write(dir.resolve(CertificateAuthority.KEY_FILE), keyPem, true);
    AtomicFiles.write(dir.resolve(CertificateAuthority.CERT_FILE), certificatePem, false);
  }

  private static void warnIfReadableByOthers(Path key) throws IOException {
    if (!Files.exists(key)) {
      return; // reading it reports the missing file
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(key);
    if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
      LOG.warn("{} is readable by others ({}); chmod 600 it", key, PosixFilePermissions.toString(perms));
    }
  }
}
