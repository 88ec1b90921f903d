package dev.tollgate.tunnel.rewrite.impl;

import dev.tollgate.common.policy.RewriteRule;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;
import java.util.List;
import java.util.Locale;

/**
 * Text replacement in a decoded body, in the charset its {@code Content-Type} declares. Bytes that
 * do not decode in that charset, or replacement text it cannot represent, leave the body alone:
 * rewriting must never corrupt the parts of a body no rule is about.
 */
public final class TextBody {

  private TextBody() {}

  /**
   * The charset a body of {@code contentType} is rewritten in, or null when it is not text this
   * class rewrites (images, binaries, no type at all) or names a charset the JVM lacks. Text and
   * JSON, JavaScript and XML default to UTF-8 when no charset is given.
   */
  public static Charset charsetOf(String contentType) {
    if (contentType == null) {
      return null;
    }
    String[] parts = contentType.split(";");
    String type = parts[0].trim().toLowerCase(Locale.ROOT);
    if (!isText(type)) {
      return null;
    }
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].trim();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("charset")) {
        String name = p.substring(eq + 1).trim().replace("\"", "");
        try {
          return Charset.forName(name);
        } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
          return null;
        }
      }
    }
    return StandardCharsets.UTF_8;
  }

  private static boolean isText(String type) {
    return type.startsWith("text/")
        || type.equals("application/json")
        || type.endsWith("+json")
        || type.equals("application/javascript")
        || type.equals("application/x-javascript")
        || type.equals("application/ecmascript")
        || type.equals("application/xml")
        || type.endsWith("+xml");
  }

  /**
   * {@code body} with every replacement applied in order, or null when nothing was found (the
   * original bytes are then sent as they came).
   *
   * @throws CharacterCodingException when the body is not valid in {@code charset} or a
   *     replacement cannot be written in it
   */
  public static byte[] replace(byte[] body, Charset charset, List<RewriteRule.Replace> replacements) throws CharacterCodingException {
    String text = charset.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(body))
        .toString();
    String out = text;
    for (RewriteRule.Replace r : replacements) {
      out = out.replace(r.find(), r.with());
    }
    if (out.equals(text)) {
      return null;
    }
    ByteBuffer encoded = charset.newEncoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .encode(CharBuffer.wrap(out));
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    return bytes;
  }
}
