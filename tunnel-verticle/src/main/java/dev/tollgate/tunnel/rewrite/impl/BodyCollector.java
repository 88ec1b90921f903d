package dev.tollgate.tunnel.rewrite.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VertxException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.Consumer;

/**
 * Reads an upstream body into memory, but never past a limit: the read stops (the response is
 * left paused) as soon as the limit is passed, and what was read so far is handed back so the
 * caller can send it and stream the rest.
 */
public final class BodyCollector {

  /**
   * @param bytes what was read
   * @param whole whether that is the whole body (else the response is paused after {@code bytes})
   */
  public record Collected(Buffer bytes, boolean whole) {}

  private BodyCollector() {}

  /** @param giveUp tears the upstream exchange down when the client leaves meanwhile */
  public static Future<Collected> collect(HttpClientResponse upstream, HttpServerResponse response, int limit, Consumer<Throwable> giveUp) {
    Promise<Collected> done = Promise.promise();
    Buffer body = Buffer.buffer();
    response.closeHandler(v -> {
      VertxException left = new VertxException("the client left mid-response", true);
      giveUp.accept(left);
      done.tryFail(left);
    });
    upstream.exceptionHandler(done::tryFail);
    upstream.endHandler(v -> done.tryComplete(new Collected(body, true)));
    upstream.handler(chunk -> {
      body.appendBuffer(chunk);
      if (body.length() > limit) {
        upstream.pause();
        upstream.handler(null);
        upstream.endHandler(null);
        done.tryComplete(new Collected(body, false));
      }
    });
    upstream.resume();
    return done.future();
  }
}
