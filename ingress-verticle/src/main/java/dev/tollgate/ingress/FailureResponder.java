package dev.tollgate.ingress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import dev.tollgate.common.ProxyFailure;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become responses: the status from the {@link ProxyFailure}, the
 * reason as a one-line body and in {@value #REASON_HEADER}. On HTTP/1 the connection is closed
 * after the answer; on h2 only the stream ends. Once a response head is out, the only honest
 * answer left is to reset.
 */
public final class FailureResponder {
  public static final String REASON_HEADER = "X-Tollgate-Reason";
  private static final Logger LOG = LoggerFactory.getLogger(FailureResponder.class);

  private FailureResponder() {}

  /** Maps any throwable to the failure the client sees; unknown errors are a 502. */
  public static ProxyFailure toFailure(Throwable e) {
    if (e instanceof ProxyFailure pf) {
      return pf;
    }
    LOG.debug("unexpected failure on the proxy path", e);
    return ProxyFailure.upstream("proxy error: " + e.getClass().getSimpleName(), e);
  }

  /** Answers {@code request} with the failure, or resets it when the head was already sent. */
  public static Future<Void> respond(HttpServerRequest request, Throwable error) {
    ProxyFailure failure = toFailure(error);
    HttpServerResponse response = request.response();
    boolean h1 = request.version() != HttpVersion.HTTP_2;
    if (response.closed()) {
      return Future.succeededFuture();
    }
    if (response.headWritten() || response.ended()) {
      // The client already has a head (and maybe a short body): it must see the message break.
      LOG.debug("failure after the response head was sent: {}", failure.reason());
      return h1 ? request.connection().close() : response.reset();
    }
    String reason = printable(failure.reason());
    response
        .setStatusCode(failure.status())
        .putHeader(REASON_HEADER, reason)
        .putHeader("content-type", "text/plain; charset=utf-8");
    if (failure.retryAfterSeconds() > 0) {
      response.putHeader("retry-after", Long.toString(failure.retryAfterSeconds()));
    }
    if (failure.challenge() != null) {
      response.putHeader("proxy-authenticate", failure.challenge());
    }
    if (h1) {
      response.putHeader("connection", "close");
    }
    Future<Void> end = response.end(reason + "\n");
    if (h1) {
      end.onComplete(ar -> request.connection().close());
    }
    return end;
  }

  /**
   * The same answer as {@link #respond} for an HTTP/1 connection carried below Vert.x (the
   * terminating listeners' fast path): the caller writes it and closes the connection.
   */
  public static FullHttpResponse http1(ProxyFailure failure) {
    String reason = printable(failure.reason());
    ByteBuf body = Unpooled.copiedBuffer(reason + "\n", StandardCharsets.UTF_8);
    FullHttpResponse response = new DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(failure.status()), body);
    response.headers()
        .set(REASON_HEADER, reason)
        .set("content-type", "text/plain; charset=utf-8")
        .set("content-length", body.readableBytes())
        .set("connection", "close");
    if (failure.retryAfterSeconds() > 0) {
      response.headers().set("retry-after", Long.toString(failure.retryAfterSeconds()));
    }
    return response;
  }

  /** Header-safe text: printable ASCII only, at most 200 characters. */
  static String printable(String s) {
    StringBuilder out = new StringBuilder(Math.min(s.length(), 200));
    for (int i = 0; i < s.length() && out.length() < 200; i++) {
      char c = s.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out.toString();
  }
}
