package dev.tollgate.ingress.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.nio.charset.StandardCharsets;

/** bcrypt as {@code htpasswd -B} writes it ({@code $2y$}; {@code $2a$} and {@code $2b$} verify too). Blocking. */
public final class PasswordHashes {
  /** The cost {@link #hash} uses; about 50-100 ms per check on a server core. */
  public static final int COST = 10;

  private PasswordHashes() {}

  /** Whether {@code password} matches the bcrypt {@code hash}. CPU-heavy: call from a worker. */
  public static boolean verify(String password, String hash) {
    try {
      return BCrypt.verifyer().verify(password.getBytes(StandardCharsets.UTF_8), hash.getBytes(StandardCharsets.UTF_8)).verified;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** A {@code $2y$} hash of {@code password}. CPU-heavy: call from a worker. */
  public static String hash(char[] password) {
    return BCrypt.with(BCrypt.Version.VERSION_2Y).hashToString(COST, password);
  }
}
