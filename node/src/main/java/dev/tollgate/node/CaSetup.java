package dev.tollgate.node;

import dev.tollgate.common.NodeConfig;
import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import dev.tollgate.mitm.KeyAlgorithm;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the interception CA a node uses: the files named in config ({@code mitm.ca.cert/key});
 * else, alone, {@code ca.pem}/{@code ca-key.pem} in the data dir (generated on first start); else,
 * in a cluster, the cluster's one CA: under a cluster-wide lock, the first node puts its own (from
 * disk, or generated) in a cluster map and every other node takes that one and keeps a copy in
 * its data dir, so all nodes mint from the same root.
 */
final class CaSetup {
  static final String MAP = "tollgate.mitm";
  static final String LOCK = "tollgate.mitm.ca";
  private static final Logger LOG = LoggerFactory.getLogger(CaSetup.class);

  private CaSetup() {}

  static CaOptions options(NodeConfig config) {
    return new CaOptions()
        .setName(config.nodeName())
        .setKeyAlgorithm(config.ca().keyAlgorithm().equals("rsa") ? KeyAlgorithm.RSA_2048 : KeyAlgorithm.EC_P256)
        .setPermittedDomains(config.ca().permittedDomains());
  }

  /** Blocking: the configured files, or the data dir's CA (created when absent). For a lone node and {@code ca export}. */
  static CertificateAuthority local(NodeConfig config) throws IOException {
    NodeConfig.Ca ca = config.ca();
    if (ca.cert() != null) {
      return CertificateAuthority.fromPem(Files.readString(ca.cert()), Files.readString(ca.key()), options(config));
    }
    Files.createDirectories(config.dataDir());
    return CertificateAuthority.loadOrCreate(config.dataDir(), options(config));
  }

  static Future<CertificateAuthority> resolve(Vertx vertx, NodeConfig config) {
    if (!config.cluster().enabled() || config.ca().cert() != null) {
      return vertx.executeBlocking(() -> local(config), false);
    }
    return vertx.sharedData()
        .getLockWithTimeout(LOCK, 30_000)
        .compose(lock -> vertx.sharedData().<String, JsonObject>getAsyncMap(MAP)
            .compose(map -> map.get("ca").compose(shared -> shared != null
                ? vertx.executeBlocking(() -> adopt(config, shared), false)
                : vertx.executeBlocking(() -> local(config), false)
                    .compose(ca -> vertx.executeBlocking(() -> share(config, ca), false).compose(json -> map.put("ca", json)).map(ca))))
            .andThen(ar -> lock.release()));
  }

  /** The cluster's CA, also written to this node's data dir (replacing a different local one). */
  private static CertificateAuthority adopt(NodeConfig config, JsonObject shared) throws IOException {
    CertificateAuthority ca = CertificateAuthority.fromPem(shared.getString("cert"), shared.getString("key"), options(config));
    Path mine = config.dataDir().resolve(CertificateAuthority.CERT_FILE);
    if (!Files.exists(mine) || !Files.readString(mine).equals(ca.certificatePem())) {
      ca.save(config.dataDir());
      LOG.info("interception CA taken from the cluster and saved in {}", config.dataDir());
    }
    return ca;
  }

  private static JsonObject share(NodeConfig config, CertificateAuthority ca) throws IOException {
    LOG.info("interception CA of this node ({}) is now the cluster's", config.dataDir());
    return new JsonObject()
        .put("cert", ca.certificatePem())
        .put("key", Files.readString(config.dataDir().resolve(CertificateAuthority.KEY_FILE)));
  }
}
