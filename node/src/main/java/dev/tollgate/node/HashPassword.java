package dev.tollgate.node;

import dev.tollgate.ingress.auth.PasswordHashes;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** {@code ./tollgate hash-password}: reads one password from stdin, prints its bcrypt hash for the policy. */
final class HashPassword {
  private HashPassword() {}

  static int run(InputStream in, PrintStream out, PrintStream err) {
    try {
      String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
      if (line == null || line.isEmpty()) {
        err.println("tollgate hash-password: give the password on standard input, e.g. read -rs PW; printf %s \"$PW\" | ./tollgate hash-password");
        return 2;
      }
      out.println(PasswordHashes.hash(line.toCharArray()));
      return 0;
    } catch (IOException e) {
      err.println("tollgate hash-password: " + e.getMessage());
      return 1;
    }
  }
}
