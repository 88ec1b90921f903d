package dev.tollgate.mitm;

import dev.tollgate.common.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import dev.tollgate.mitm.intercept.Passthrough;

/**
 * Owns the node's interception CA and its leaf-certificate cache. Minting runs on a small worker
 * pool of its own, never on an event loop. Answers {@value Addresses#MITM_CA} with the CA
 * certificate (control only).
 */
public final class MitmVerticle extends VerticleBase {
  private final CertificateAuthority ca;
  private final boolean learnPassthrough;
  private Passthrough passthrough;
  private WorkerExecutor minting;
  private volatile LeafCache leaves;

  /** @param learnPassthrough whether hosts whose clients keep rejecting the certificate are learned as passthrough */
  public MitmVerticle(CertificateAuthority ca, boolean learnPassthrough) {
    this.ca = ca;
    this.learnPassthrough = learnPassthrough;
  }

  @Override
  public Future<?> start() {
    minting = vertx.createSharedWorkerExecutor("tollgate-mint", 2);
    leaves = LeafCache.create(ca, task -> minting.executeBlocking(() -> {
      task.run();
      return null;
    }, false));
    passthrough = new Passthrough(vertx, learnPassthrough);
    var eb = vertx.eventBus();
    return Future.all(
        passthrough.start(),
        eb.<JsonObject>localConsumer(Addresses.MITM_CA, m -> m.reply(new JsonObject().put("pem", ca.certificatePem()))).completion(),
        eb.<JsonObject>localConsumer(Addresses.MITM_PASSTHROUGH, m -> {
          Future<JsonObject> answer = m.body().getBoolean("clear", false)
              ? passthrough.clear().map(n -> new JsonObject().put("cleared", n))
              : passthrough.list();
          answer.onSuccess(m::reply).onFailure(e -> m.fail(500, e.getMessage()));
        }).completion());
  }

  @Override
  public Future<?> stop() {
    return minting.close();
  }

  public CertificateAuthority ca() {
    return ca;
  }

  /** The passthrough list (after start). */
  public Passthrough passthrough() {
    return passthrough;
  }

  /** The leaf cache (after start). */
  public LeafCache leaves() {
    return leaves;
  }
}
