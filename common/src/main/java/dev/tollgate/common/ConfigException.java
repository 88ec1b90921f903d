package dev.tollgate.common;

/** A configuration value that does not validate; {@link #key()} names it ({@code timeouts.idle}). */
public final class ConfigException extends RuntimeException {
  private final String key;

  public ConfigException(String key, String message) {
    super(key + ": " + message);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
