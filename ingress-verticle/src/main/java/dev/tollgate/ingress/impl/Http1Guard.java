package dev.tollgate.ingress.impl;

import io.netty.channel.ChannelPipeline;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.Http1xServerConnection;

/**
 * Swaps Vert.x's HTTP/1 request decoder for {@link StrictHttp1Decoder} on each new connection.
 * Vert.x offers no hook for this, so it reaches into the connection's Netty pipeline; the handler
 * name is Vert.x's own ({@code httpDecoder}).
 */
public final class Http1Guard {
  private Http1Guard() {}

  /**
   * @param detectH2c whether the listener takes h2c with prior knowledge (Vert.x's own h2c must be
   *     off on it, see {@link H2cHandoff})
   */
  public static void install(HttpConnection connection, HttpServerOptions options, long headerTimeoutMillis, boolean detectH2c) {
    if (!(connection instanceof Http1xServerConnection c)) {
      return; // h2 has its own framing; nothing to make strict
    }
    ChannelPipeline pipeline = c.channel().pipeline();
    if (pipeline.get("httpDecoder") != null) {
      pipeline.replace("httpDecoder", "httpDecoder", new StrictHttp1Decoder(options, headerTimeoutMillis, detectH2c));
    }
  }
}
