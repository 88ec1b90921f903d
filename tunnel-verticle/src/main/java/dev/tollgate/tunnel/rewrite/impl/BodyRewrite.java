package dev.tollgate.tunnel.rewrite.impl;

import dev.tollgate.common.policy.RewriteRule;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.util.List;

/**
 * Rewrites one whole response body: decode its content coding, replace text in its charset,
 * encode again. A pure function over bytes (no Vert.x), so it can run on a worker thread and be
 * tested as a table.
 */
public final class BodyRewrite {

  /**
   * What became of a body.
   *
   * @param body the new body, or null when the original bytes go out unchanged
   * @param contentEncoding the {@code Content-Encoding} of the new body (null: identity)
   * @param unchangedBecause why the original goes out, when it does and it is worth a log line; else null
   */
  public record Outcome(byte[] body, String contentEncoding, String unchangedBecause) {
    static Outcome unchanged(String why) {
      return new Outcome(null, null, why);
    }
  }

  private BodyRewrite() {}

  /**
   * @param wire the body as received
   * @param codec its content coding ({@link BodyCodec#of}, not null)
   * @param charset its charset ({@link TextBody#charsetOf}, not null)
   * @param limit the largest decoded body rewritten
   */
  public static Outcome apply(byte[] wire, BodyCodec codec, Charset charset, List<RewriteRule.Replace> replacements, int limit) {
    BodyCodec c = codec.sniff(wire);
    byte[] decoded;
    try {
      decoded = c.decode(wire, limit);
    } catch (BodyCodec.TooLarge e) {
      return Outcome.unchanged("it decodes to more than mitm.rewriteMaxBody (" + limit + " bytes)");
    } catch (IOException e) {
      return Outcome.unchanged("it does not decode: " + e.getMessage());
    }
    byte[] replaced;
    try {
      replaced = TextBody.replace(decoded, charset, replacements);
    } catch (CharacterCodingException e) {
      return Outcome.unchanged("it is not valid " + charset.name() + " (or a replacement is not representable in it)");
    }
    if (replaced == null) {
      return Outcome.unchanged(null);
    }
    try {
      return new Outcome(c.encode(replaced), c.encodedAs(), null);
    } catch (IOException e) {
      return Outcome.unchanged("it could not be encoded again: " + e.getMessage());
    }
  }
}
