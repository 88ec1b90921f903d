package dev.tollgate.ingress.impl;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Vert.x answers a CONNECT with {@code 200 OK}; clients and log tooling expect the conventional
 * {@code 200 Connection Established}. This outbound handler, placed just before the HTTP encoder
 * while a CONNECT is pending, rewrites that one status line and then removes itself.
 */
final class ConnectEstablished extends ChannelOutboundHandlerAdapter {
  static final String NAME = "tollgateConnectEstablished";
  private static final HttpResponseStatus ESTABLISHED = new HttpResponseStatus(200, "Connection Established");

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof HttpResponse response && response.status().code() == 200) {
      response.setStatus(ESTABLISHED);
      ctx.pipeline().remove(this);
    }
    ctx.write(msg, promise);
  }
}
