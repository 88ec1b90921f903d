package dev.tollgate.mitm;

import dev.tollgate.common.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;

/**
 * Owns the node's interception CA and its leaf-certificate cache. Minting runs on a small worker
 * pool of its own, never on an event loop. Answers {@value Addresses#MITM_CA} with the CA
 * certificate (control only).
 */
public final class MitmVerticle extends VerticleBase {
  private final CertificateAuthority ca;
  private WorkerExecutor minting;
  private volatile LeafCache leaves;

  public MitmVerticle(CertificateAuthority ca) {
    this.ca = ca;
  }

  @Override
  public Future<?> start() {
    minting = vertx.createSharedWorkerExecutor("tollgate-mint", 2);
    leaves = LeafCache.create(ca, task -> minting.executeBlocking(() -> {
      task.run();
      return null;
    }, false));
    return vertx.eventBus()
        .<JsonObject>localConsumer(Addresses.MITM_CA, m -> m.reply(new JsonObject().put("pem", ca.certificatePem())))
        .completion();
  }

  @Override
  public Future<?> stop() {
    return minting.close();
  }

  public CertificateAuthority ca() {
    return ca;
  }

  /** The leaf cache (after start). */
  public LeafCache leaves() {
    return leaves;
  }
}
