package dev.tollgate.ingress.terminate;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

/**
 * Netty's request encoder for the fast path's backend connections, writing the headers of the
 * requests Vert.x decoded (its multi-map) with the multi-map's own encoding, as Vert.x's response
 * encoder does, rather than through an iterator of entries.
 */
final class BackendRequestEncoder extends HttpRequestEncoder {
  @Override
  protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
    if (headers instanceof HeadersMultiMap m) {
      m.encode(buf, false);
    } else {
      super.encodeHeaders(headers, buf);
    }
  }
}
