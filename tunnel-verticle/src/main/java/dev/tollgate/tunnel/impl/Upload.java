package dev.tollgate.tunnel.impl;

import dev.tollgate.common.limits.TokenBucket;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;

/**
 * A forwarded request on its way upstream: the client's body (if any) is pumped into the upstream
 * request with backpressure, shaped by the user's byte bucket, and the upstream request is ended
 * after it.
 *
 * <p>It also remembers whether the upstream request was ended, because that decides how an
 * exchange that is given up (the client left, a side failed) must be torn down: see
 * {@link #abandon}.
 */
public final class Upload {
  private final HttpServerRequest request;
  private final HttpClientRequest upstream;
  private final Pump pump;
  private final Promise<Void> sent = Promise.promise();
  private boolean ended;
  private boolean abandoned;

  /** @param bytes the user's byte bucket, or null for none */
  public Upload(Vertx vertx, HttpServerRequest request, HttpClientRequest upstream, TokenBucket bytes) {
    this.request = request;
    this.upstream = upstream;
    // Once given up, what the client still sends is drained and dropped, not written into a reset request.
    this.pump = new Pump(vertx, request, upstream, n -> {}, bytes, () -> abandoned);
  }

  /**
   * Sends the body (the request is paused by the caller), then ends the upstream request. The
   * future completes once that end is written, and fails when either side fails first.
   */
  public Future<Void> sendBody() {
    upstream.exceptionHandler(sent::tryFail);
    request.exceptionHandler(
        e -> {
          pump.stop();
          sent.tryFail(e);
        });
    request.endHandler(
        v -> {
          pump.stop();
          end();
        });
    pump.start();
    return sent.future();
  }

  /** Ends the upstream request at once: there is no body. */
  public Future<Void> sendWithoutBody() {
    request.resume();
    end();
    return sent.future();
  }

  private void end() {
    ended = true;
    upstream.end().onComplete(sent);
  }

  /**
   * Gives the exchange up. An upstream request that was ended is reset. One that was not has its
   * connection closed first: Vert.x resets an HTTP/1.x stream whose response has already arrived
   * (an origin may answer before it has read the whole body, and does once a Content-Length body
   * is complete) by just dropping it, and the connection goes back to the pool in the middle of
   * that request's message. The next request given that connection then fails in Netty's encoder
   * ("unexpected message type ..., state: 1"): it is never sent, and never answered. Closing
   * first takes the connection out of the pool before the reset can recycle it.
   */
  public void abandon(Throwable cause) {
    if (abandoned) {
      return;
    }
    abandoned = true;
    pump.stop();
    if (!ended) {
      upstream.connection().close();
    }
    upstream.reset(0, cause);
  }
}
