package dev.tollgate.node;

import dev.tollgate.common.AtomicFiles;
import dev.tollgate.common.NodeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control API's bearer token: {@code control.token} from config, else
 * {@code TOLLGATE_CONTROL_TOKEN}, else the one kept in {@code <dataDir>/control-token} (mode
 * 0600), generated on first start.
 *
 * @param value the token
 * @param source where it came from, for the ready line (never the token itself)
 */
record ControlToken(String value, String source) {
  static final String FILE = "control-token";
  static final String ENV = "TOLLGATE_CONTROL_TOKEN";
  private static final Logger LOG = LoggerFactory.getLogger(ControlToken.class);

  /** Blocking (file IO): call from a worker. */
  static ControlToken resolve(NodeConfig config) throws IOException {
    if (config.controlToken() != null) {
      return new ControlToken(config.controlToken(), "config");
    }
    String env = System.getenv(ENV);
    if (env != null && !env.isBlank()) {
      if (env.strip().length() < NodeConfig.MIN_CONTROL_TOKEN_LENGTH) {
        throw new IllegalArgumentException(ENV + " is shorter than " + NodeConfig.MIN_CONTROL_TOKEN_LENGTH + " characters");
      }
      return new ControlToken(env.strip(), ENV);
    }
    Path file = config.dataDir().resolve(FILE);
    if (Files.exists(file)) {
      String kept = Files.readString(file).strip();
      if (kept.length() >= NodeConfig.MIN_CONTROL_TOKEN_LENGTH) {
        return new ControlToken(kept, file.toString());
      }
      LOG.warn("{} holds no usable token; generating a new one", file);
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    AtomicFiles.write(file, token + "\n", true);
    return new ControlToken(token, file.toString());
  }
}
