package dev.tollgate.node;

import dev.tollgate.common.AtomicFiles;
import dev.tollgate.common.NodeConfig;
import dev.tollgate.mitm.Certificates;
import dev.tollgate.mitm.PemKeyPair;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The HTTPS proxy listener's certificate: the configured files, or a self-signed one kept in the data dir. */
final class TlsMaterial {
  private static final Logger LOG = LoggerFactory.getLogger(TlsMaterial.class);
  static final String CERT_FILE = "proxy-tls-cert.pem";
  static final String KEY_FILE = "proxy-tls-key.pem";

  record Pem(String cert, String key) {}

  private TlsMaterial() {}

  /** Blocking: reads or generates files. Call from a worker. */
  static Pem load(NodeConfig config) throws IOException {
    if (config.proxyTlsCert() != null) {
      return new Pem(Files.readString(config.proxyTlsCert()), Files.readString(config.proxyTlsKey()));
    }
    Path cert = config.dataDir().resolve(CERT_FILE);
    Path key = config.dataDir().resolve(KEY_FILE);
    if (!Files.exists(cert) || !Files.exists(key)) {
      List<String> names = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
      String host = config.proxyTlsListen().host();
      if (!names.contains(host) && !host.equals("0.0.0.0") && !host.equals("::")) {
        names.add(host);
      }
      PemKeyPair pair = Certificates.create().selfSigned("Tollgate proxy " + config.nodeName(), names, Duration.ofDays(365));
      AtomicFiles.write(key, pair.privateKeyPem(), true);
      AtomicFiles.write(cert, pair.certificatePem(), false);
      LOG.info("generated a self-signed certificate for the TLS proxy listener: {} (trust it with --proxy-cacert)", cert);
    }
    return new Pem(Files.readString(cert), Files.readString(key));
  }

}
