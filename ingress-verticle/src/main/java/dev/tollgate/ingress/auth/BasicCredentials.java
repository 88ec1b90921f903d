package dev.tollgate.ingress.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The user and password of a {@code Proxy-Authorization: Basic …} header.
 *
 * @param user the user name
 * @param password the password (never logged)
 */
public record BasicCredentials(String user, String password) {

  /** Parses the header value; null when it is absent or not well-formed Basic credentials. */
  public static BasicCredentials parse(String header) {
    if (header == null) {
      return null;
    }
    String h = header.strip();
    if (h.length() < 6 || !h.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(h.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    int colon = decoded.indexOf(':');
    if (colon <= 0) {
      return null;
    }
    return new BasicCredentials(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  @Override
  public String toString() {
    return "BasicCredentials[user=" + user + "]"; // never the password
  }
}
