package dev.tollgate.testing;

import io.vertx.core.Future;
import java.util.concurrent.TimeUnit;

/** Blocks a test thread (never an event loop) on a Vert.x future. */
public final class Await {
  private Await() {}

  public static <T> T result(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future did not complete: " + e, e);
    }
  }
}
