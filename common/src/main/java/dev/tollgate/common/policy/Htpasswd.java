package dev.tollgate.common.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an htpasswd file ({@code user:hash} lines, as {@code htpasswd -B} writes them). Only
 * bcrypt hashes are accepted: the file's weaker formats (MD5, SHA-1, crypt, plain) are refused
 * with the line number. Blocking: call from a worker.
 */
public final class Htpasswd {
  private Htpasswd() {}

  /** The users of {@code policy}'s htpasswd file merged in, or {@code policy} itself when it names none. */
  public static Policy resolve(Policy policy) throws IOException {
    String file = policy.auth().htpasswd();
    return file == null ? policy : policy.withHtpasswdUsers(read(Path.of(file)));
  }

  /** User name to bcrypt hash; a line that is not {@code user:bcrypt} is a {@link PolicyException} at {@code auth.htpasswd}. */
  public static Map<String, String> read(Path file) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new PolicyException("auth.htpasswd", "cannot read " + file + ": " + e.getMessage());
    }
    Map<String, String> users = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      String hash = colon > 0 ? line.substring(colon + 1) : "";
      if (colon <= 0 || !hash.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}")) {
        throw new PolicyException("auth.htpasswd", file + " line " + (i + 1) + ": only bcrypt entries (htpasswd -B) are accepted");
      }
      users.put(line.substring(0, colon), hash);
    }
    return users;
  }
}
