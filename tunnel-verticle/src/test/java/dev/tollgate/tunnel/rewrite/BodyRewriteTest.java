package dev.tollgate.tunnel.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.policy.RewriteRule;
import dev.tollgate.tunnel.rewrite.impl.BodyCodec;
import dev.tollgate.tunnel.rewrite.impl.BodyRewrite;
import dev.tollgate.tunnel.rewrite.impl.TextBody;
import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The body rewriting as a pure function: codings, charsets, and every reason to leave a body alone. */
class BodyRewriteTest {
  static final List<RewriteRule.Replace> BETA = List.of(new RewriteRule.Replace("beta", "gamma"));

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          text/html                              | UTF-8
          text/plain; charset=ISO-8859-1         | ISO-8859-1
          text/plain;charset="windows-1252"      | windows-1252
          application/json                       | UTF-8
          application/problem+json               | UTF-8
          Application/JSON; charset=UTF-16       | UTF-16
          image/svg+xml                          | UTF-8
          image/png                              |
          application/octet-stream               |
          text/plain; charset=no-such-charset    |
          """)
  void charsets(String contentType, String expected) {
    Charset c = TextBody.charsetOf(contentType);
    assertEquals(expected, c == null ? null : c.name());
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          gzip, deflate, br, zstd    | gzip, deflate, br
          zstd;q=1.0, gzip;q=0.5     | gzip;q=0.5
          zstd                       | identity
          *                          | identity
          """)
  void acceptEncodingKeepsWhatCanBeDecoded(String accept, String expected) {
    assertEquals(expected, ExchangeRewrite.decodableOnly(accept));
  }

  @Test
  void gzipAndBothDeflatesRoundTrip() throws Exception {
    byte[] text = "alpha beta".getBytes(StandardCharsets.UTF_8);
    for (byte[] encoded : List.of(gzip(text), deflate(text, false), deflate(text, true))) {
      BodyCodec codec = BodyCodec.of(encoded == null ? null : encoded[0] == 0x1f ? "gzip" : "deflate");
      BodyRewrite.Outcome o = BodyRewrite.apply(encoded, codec, StandardCharsets.UTF_8, BETA, 1024);
      assertNull(o.unchangedBecause());
      BodyCodec back = codec.sniff(o.body());
      assertEquals(codec.sniff(encoded), back, "re-encoded the way it came");
      assertArrayEquals("alpha gamma".getBytes(StandardCharsets.UTF_8), back.decode(o.body(), 1024));
    }
  }

  @Test
  void nothingFoundMeansTheOriginalBytes() {
    BodyRewrite.Outcome o = BodyRewrite.apply("alpha".getBytes(StandardCharsets.UTF_8), BodyCodec.IDENTITY, StandardCharsets.UTF_8, BETA, 1024);
    assertNull(o.body());
    assertNull(o.unchangedBecause(), "not worth a log line");
  }

  @Test
  void aBodyThatInflatesPastTheLimitIsLeftAlone() throws Exception {
    byte[] bomb = gzip(new byte[1 << 20]);
    BodyRewrite.Outcome o = BodyRewrite.apply(bomb, BodyCodec.GZIP, StandardCharsets.UTF_8, BETA, 64 * 1024);
    assertNull(o.body());
    assertTrue(o.unchangedBecause().contains("rewriteMaxBody"), o.unchangedBecause());
  }

  @Test
  void corruptBodiesAreLeftAlone() {
    byte[] notGzip = "beta".getBytes(StandardCharsets.UTF_8);
    for (BodyCodec codec : List.of(BodyCodec.GZIP, BodyCodec.DEFLATE, BodyCodec.BR)) {
      BodyRewrite.Outcome o = BodyRewrite.apply(notGzip, codec, StandardCharsets.UTF_8, BETA, 1024);
      assertNull(o.body(), codec.name());
      assertTrue(o.unchangedBecause().contains("decode"), o.unchangedBecause());
    }
  }

  @Test
  void bytesNotValidInTheCharsetAreLeftAlone() {
    byte[] latin1 = "beta: Köln".getBytes(StandardCharsets.ISO_8859_1);
    BodyRewrite.Outcome o = BodyRewrite.apply(latin1, BodyCodec.IDENTITY, StandardCharsets.UTF_8, BETA, 1024);
    assertNull(o.body());
    assertTrue(o.unchangedBecause().contains("UTF-8"), o.unchangedBecause());
  }

  @Test
  void aReplacementTheCharsetCannotHoldLeavesTheBodyAlone() {
    BodyRewrite.Outcome o = BodyRewrite.apply("beta".getBytes(StandardCharsets.ISO_8859_1), BodyCodec.IDENTITY,
        StandardCharsets.ISO_8859_1, List.of(new RewriteRule.Replace("beta", "€")), 1024);
    assertNull(o.body());
    assertTrue(o.unchangedBecause().contains("ISO-8859-1"), o.unchangedBecause());
  }

  @Test
  void replacementsApplyInOrder() {
    var rules = List.of(new RewriteRule.Replace("a", "b"), new RewriteRule.Replace("bb", "c"));
    BodyRewrite.Outcome o = BodyRewrite.apply("ab".getBytes(StandardCharsets.UTF_8), BodyCodec.IDENTITY, StandardCharsets.UTF_8, rules, 1024);
    assertEquals("c", new String(o.body(), StandardCharsets.UTF_8));
  }

  @Test
  void unknownCodingsAreNotDecoded() {
    assertNull(BodyCodec.of("zstd"));
    assertNull(BodyCodec.of("gzip, br"));
    assertEquals(BodyCodec.IDENTITY, BodyCodec.of(null));
    assertEquals(BodyCodec.GZIP, BodyCodec.of(" GZIP "));
  }

  static byte[] gzip(byte[] in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(in);
    }
    return out.toByteArray();
  }

  static byte[] deflate(byte[] in, boolean raw) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DeflaterOutputStream d = new DeflaterOutputStream(out, new Deflater(Deflater.DEFAULT_COMPRESSION, raw))) {
      d.write(in);
    }
    return out.toByteArray();
  }
}
