package dev.tollgate.tunnel.rewrite.impl;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import org.brotli.dec.BrotliInputStream;

/**
 * The content codings a rewritten body may arrive in. Decoding is bounded: a body that inflates
 * past the limit is refused (a small compressed body must not become a heap-sized string).
 * Brotli is only decoded (pure-Java decoder); a rewritten br body leaves as identity.
 */
public enum BodyCodec {
  IDENTITY(null),
  GZIP("gzip"),
  /** {@code deflate} as the RFC means it: a zlib stream. */
  DEFLATE("deflate"),
  /** {@code deflate} as some servers send it: a raw deflate stream, re-encoded the same way. */
  DEFLATE_RAW("deflate"),
  BR(null);

  private final String encodedAs;

  BodyCodec(String encodedAs) {
    this.encodedAs = encodedAs;
  }

  /** Thrown when a decoded body would exceed the limit. */
  public static final class TooLarge extends IOException {
    TooLarge(int limit) {
      super("decoded body over " + limit + " bytes", null);
    }
  }

  /**
   * The codec of a {@code Content-Encoding} value (null or empty: identity), or null when it is
   * one this class cannot decode (zstd, several codings stacked, ...). {@code deflate} is resolved
   * to zlib or raw by looking at the body: see {@link #sniff}.
   */
  public static BodyCodec of(String contentEncoding) {
    if (contentEncoding == null) {
      return IDENTITY;
    }
    return switch (contentEncoding.trim().toLowerCase(Locale.ROOT)) {
      case "", "identity" -> IDENTITY;
      case "gzip", "x-gzip" -> GZIP;
      case "deflate" -> DEFLATE;
      case "br" -> BR;
      default -> null;
    };
  }

  /** {@link #DEFLATE} or {@link #DEFLATE_RAW} for a deflate body, by its first two bytes; others unchanged. */
  public BodyCodec sniff(byte[] body) {
    if (this != DEFLATE || body.length < 2) {
      return this;
    }
    int cmf = body[0] & 0xff;
    int flg = body[1] & 0xff;
    boolean zlib = (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
    return zlib ? DEFLATE : DEFLATE_RAW;
  }

  /** The {@code Content-Encoding} a body re-encoded by {@link #encode} carries; null for identity. */
  public String encodedAs() {
    return encodedAs;
  }

  /** Decodes {@code body}, refusing output over {@code limit} bytes. */
  public byte[] decode(byte[] body, int limit) throws IOException {
    if (this == IDENTITY) {
      return body;
    }
    try (InputStream in = decoder(new ByteArrayInputStream(body))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(limit, Math.max(1024, body.length * 4)));
      byte[] chunk = new byte[16 * 1024];
      for (int n; (n = in.read(chunk)) > 0; ) {
        if (out.size() + n > limit) {
          throw new TooLarge(limit);
        }
        out.write(chunk, 0, n);
      }
      return out.toByteArray();
    } catch (RuntimeException e) {
      // The brotli decoder reports corrupt input unchecked.
      throw new IOException("corrupt " + name().toLowerCase(Locale.ROOT) + " body: " + e.getMessage(), e);
    }
  }

  /** Encodes {@code body} for {@link #encodedAs()}; identity (and br) return it as is. */
  public byte[] encode(byte[] body) throws IOException {
    if (encodedAs == null) {
      return body;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, body.length / 3));
    Deflater deflater = this == GZIP ? null : new Deflater(Deflater.DEFAULT_COMPRESSION, this == DEFLATE_RAW);
    try (OutputStream encoder = this == GZIP ? new GZIPOutputStream(out) : new DeflaterOutputStream(out, deflater)) {
      encoder.write(body);
    } finally {
      if (deflater != null) {
        deflater.end();
      }
    }
    return out.toByteArray();
  }

  private InputStream decoder(InputStream in) throws IOException {
    return switch (this) {
      case GZIP -> new GZIPInputStream(in);
      case DEFLATE -> new InflaterInputStream(in);
      case DEFLATE_RAW -> new InflaterInputStream(in, new Inflater(true));
      case BR -> new BrotliInputStream(in);
      case IDENTITY -> in;
    };
  }
}
