package dev.tollgate.ingress.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.net.impl.VertxHandler;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

/**
 * Hands a plain connection that opened with the HTTP/2 preface (h2c with prior knowledge) over
 * to Vert.x's own HTTP/2 pipeline.
 *
 * <p>Why this exists: with Vert.x's h2c support switched on, an HTTP/1 connection is only created
 * after its first request head has been parsed (Vert.x waits to see whether it asks for an h2c
 * upgrade), so {@link StrictHttp1Decoder} could not guard the first request. The plain listener
 * therefore runs with h2c off and the strict decoder detects the preface itself; this class then
 * calls Vert.x's internal {@code HttpServerConnectionInitializer#configureHttp2}, which is not
 * public API. It is pinned to Vert.x 5.0.x and covered by the h2c tests.
 */
final class H2cHandoff {
  static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final String INITIALIZER = "io.vertx.core.http.impl.HttpServerConnectionInitializer";
  private static final String[] HTTP1_HANDLERS = {"httpEncoder", "chunkedWriter", "deflater", "inflater"};

  private H2cHandoff() {}

  /** 1 when {@code in} starts with the preface, 0 when it is still a prefix of it, -1 otherwise. */
  static int matchPreface(ByteBuf in) {
    int n = Math.min(in.readableBytes(), PREFACE.length);
    for (int i = 0; i < n; i++) {
      if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
        return -1;
      }
    }
    return n == PREFACE.length ? 1 : 0;
  }

  /**
   * Replaces the HTTP/1 handlers of {@code pipeline} with Vert.x's HTTP/2 handlers. The caller
   * removes its decoder afterwards so that the bytes it holds flow into the HTTP/2 codec.
   */
  static void switchToHttp2(ChannelPipeline pipeline) throws ReflectiveOperationException {
    VertxHandler<?> http1 = pipeline.get(VertxHandler.class);
    Object initializer = initializerOf(http1);
    Method configure = initializer.getClass().getDeclaredMethod("configureHttp2", ChannelPipeline.class);
    configure.setAccessible(true);
    for (String name : HTTP1_HANDLERS) {
      if (pipeline.get(name) != null) {
        pipeline.remove(name);
      }
    }
    // configureHttp2 replaces the HTTP/1 connection's VertxHandler with the HTTP/2 one.
    configure.invoke(initializer, pipeline);
  }

  private static Object initializerOf(VertxHandler<?> handler) throws ReflectiveOperationException {
    Field factoryField = VertxHandler.class.getDeclaredField("connectionFactory");
    factoryField.setAccessible(true);
    Object factory = factoryField.get(handler);
    for (Field f : factory.getClass().getDeclaredFields()) {
      f.setAccessible(true);
      Object v = f.get(factory);
      if (v != null && v.getClass().getName().equals(INITIALIZER)) {
        return v;
      }
    }
    throw new NoSuchFieldException("no " + INITIALIZER + " behind the HTTP/1 connection factory");
  }
}
