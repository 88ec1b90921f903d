package dev.tollgate.tunnel.rewrite;

import dev.tollgate.common.limits.TokenBucket;
import dev.tollgate.common.policy.RewriteRule;
import dev.tollgate.tunnel.rewrite.impl.BodyCodec;
import dev.tollgate.tunnel.rewrite.impl.BodyCollector;
import dev.tollgate.tunnel.rewrite.impl.BodyRewrite;
import dev.tollgate.tunnel.rewrite.impl.TextBody;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rewrite rules matching one exchange, applied by the forwarder in this order:
 * {@link #request} on the headers going upstream; {@link #response} on the response headers;
 * then, when {@link #rewritesBody} says so, {@link #collect} and {@link #send} instead of the
 * usual streaming. A body over {@code mitm.rewriteMaxBody} is never held whole: what was read up
 * to the limit goes out as it came and the rest streams after it.
 */
public final class ExchangeRewrite {
  private static final Logger LOG = LoggerFactory.getLogger(ExchangeRewrite.class);
  private static final Set<String> DECODABLE = Set.of("gzip", "x-gzip", "deflate", "br", "identity");
  /** Headers that describe the exact bytes of the original body, and would lie about a rewritten one. */
  private static final List<String> BODY_DIGESTS = List.of("etag", "content-md5", "digest", "content-digest", "repr-digest");

  private final Vertx vertx;
  private final List<RewriteRule> rules;
  private final List<RewriteRule.Replace> replacements = new ArrayList<>();
  private final String what;
  private final int maxBody;
  private BodyCodec codec;
  private Charset charset;

  ExchangeRewrite(Vertx vertx, List<RewriteRule> rules, String what, int maxBody) {
    this.vertx = vertx;
    this.rules = rules;
    this.what = what;
    this.maxBody = maxBody;
    rules.forEach(r -> replacements.addAll(r.replace()));
  }

  /** Applies the rules' request edits to the headers going upstream. */
  public void request(MultiMap headers) {
    rules.forEach(r -> edit(headers, r.request()));
    if (!replacements.isEmpty()) {
      // A range of a body cannot be rewritten, and a coding we cannot decode would pass unchanged.
      headers.remove("range");
      headers.remove("if-range");
      String accept = headers.get(HttpHeaders.ACCEPT_ENCODING);
      if (accept != null) {
        headers.set(HttpHeaders.ACCEPT_ENCODING, decodableOnly(accept));
      }
    }
  }

  /** Applies the rules' response edits to the headers going to the client. */
  public void response(MultiMap headers) {
    rules.forEach(r -> edit(headers, r.response()));
  }

  /**
   * Whether the body of this response is to be collected and rewritten: there are replacements,
   * the response is whole (not a range), text in a known charset, in a coding that can be decoded,
   * and not announced larger than the limit (logged when it is).
   */
  public boolean rewritesBody(int status, MultiMap headers) {
    if (replacements.isEmpty() || status == 206 || status < 200) {
      return false;
    }
    charset = TextBody.charsetOf(headers.get(HttpHeaders.CONTENT_TYPE));
    codec = BodyCodec.of(headers.get(HttpHeaders.CONTENT_ENCODING));
    if (charset == null || codec == null) {
      return false;
    }
    String length = headers.get(HttpHeaders.CONTENT_LENGTH);
    if (length != null && parse(length) > maxBody) {
      LOG.info("rewrite: the body of {} ({} bytes) is over mitm.rewriteMaxBody ({} bytes): passed unmodified", what, length, maxBody);
      return false;
    }
    return true;
  }

  /**
   * Reads the upstream body, up to the limit.
   *
   * @param giveUp tears the upstream exchange down when the client leaves meanwhile
   */
  public Future<BodyCollector.Collected> collect(HttpClientResponse upstream, HttpServerResponse response, Consumer<Throwable> giveUp) {
    return BodyCollector.collect(upstream, response, maxBody, giveUp).onSuccess(c -> {
      if (!c.whole()) {
        LOG.info("rewrite: the body of {} is over mitm.rewriteMaxBody ({} bytes): passed unmodified", what, maxBody);
      }
    });
  }

  /**
   * Rewrites a whole collected body and ends the response with it (or with the original bytes,
   * when no replacement found anything or the body could not be decoded). Large bodies are worked
   * on a worker thread; the headers are fixed to the new body's length and coding.
   *
   * @param bytes the user's byte bucket the body is charged to, or null
   */
  public Future<Void> send(Buffer body, HttpServerResponse response, TokenBucket bytes) {
    byte[] wire = body.getBytes();
    int inlineLimit = codec == BodyCodec.IDENTITY ? Rewriter.INLINE_LIMIT : Rewriter.INLINE_LIMIT_COMPRESSED;
    BodyCodec c = codec;
    Charset cs = charset;
    Future<BodyRewrite.Outcome> outcome = wire.length <= inlineLimit
        ? Future.succeededFuture(BodyRewrite.apply(wire, c, cs, replacements, maxBody))
        : vertx.executeBlocking(() -> BodyRewrite.apply(wire, c, cs, replacements, maxBody), false);
    return outcome.compose(o -> {
      Buffer out = body;
      if (o.body() == null) {
        if (o.unchangedBecause() != null) {
          LOG.info("rewrite: the body of {} passed unmodified: {}", what, o.unchangedBecause());
        }
      } else {
        out = Buffer.buffer(o.body());
        BODY_DIGESTS.forEach(response.headers()::remove);
        if (o.contentEncoding() == null) {
          response.headers().remove(HttpHeaders.CONTENT_ENCODING);
        } else {
          response.headers().set(HttpHeaders.CONTENT_ENCODING, o.contentEncoding());
        }
      }
      if (bytes != null) {
        bytes.consume(out.length(), System.nanoTime());
      }
      response.setChunked(false);
      response.headers().set(HttpHeaders.CONTENT_LENGTH, Integer.toString(out.length()));
      return response.end(out);
    });
  }

  private static void edit(MultiMap headers, RewriteRule.HeaderEdits edits) {
    edits.remove().forEach(headers::remove);
    edits.set().forEach(headers::set);
  }

  /** The codings of an {@code Accept-Encoding} value this class can decode, with their weights. */
  static String decodableOnly(String accept) {
    StringBuilder out = new StringBuilder();
    for (String item : accept.split(",")) {
      String coding = item.split(";")[0].trim().toLowerCase(Locale.ROOT);
      if (DECODABLE.contains(coding)) {
        out.append(out.length() == 0 ? "" : ", ").append(item.trim());
      }
    }
    return out.length() == 0 ? "identity" : out.toString();
  }

  private static long parse(String length) {
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }
}
