package dev.tollgate.mitm.intercept;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads the first bytes a client sends in a tunnel: whether they start a TLS handshake, and the
 * server name (SNI) of its ClientHello. Tolerant: anything it cannot read gives "not TLS" or no
 * name, never an exception, since the bytes come straight from the client.
 */
public final class ClientHello {
  private ClientHello() {}

  /** A TLS handshake record (content type 22, major version 3). */
  public static boolean isTls(Buffer first) {
    return first.length() >= 3 && first.getByte(0) == 22 && first.getByte(1) == 3;
  }

  /** The SNI host name of the ClientHello that starts {@code first}, or null when there is none or it is cut short. */
  public static String serverName(Buffer first) {
    try {
      if (!isTls(first) || first.length() < 9 || first.getByte(5) != 1) {
        return null; // not a ClientHello
      }
      int p = 5 + 4; // record header, handshake header
      p += 2 + 32; // client version, random
      p += 1 + u8(first, p); // session id
      p += 2 + u16(first, p); // cipher suites
      p += 1 + u8(first, p); // compression methods
      int end = p + 2 + u16(first, p);
      p += 2;
      while (p + 4 <= Math.min(end, first.length())) {
        int type = u16(first, p);
        int length = u16(first, p + 2);
        p += 4;
        if (type == 0) { // server_name: list length, then entries (type, length, name)
          int q = p + 2;
          while (q + 3 <= p + length) {
            int nameType = u8(first, q);
            int nameLength = u16(first, q + 1);
            if (nameType == 0 && q + 3 + nameLength <= first.length()) {
              String name = first.getString(q + 3, q + 3 + nameLength, StandardCharsets.US_ASCII.name());
              return name.matches("[A-Za-z0-9._-]{1,253}") ? name : null;
            }
            q += 3 + nameLength;
          }
          return null;
        }
        p += length;
      }
      return null;
    } catch (IndexOutOfBoundsException e) {
      return null;
    }
  }

  private static int u8(Buffer b, int i) {
    return b.getUnsignedByte(i);
  }

  private static int u16(Buffer b, int i) {
    return b.getUnsignedShort(i);
  }
}
