package dev.tollgate.common;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Reads a YAML (or JSON) config file into the JSON tree that {@link NodeConfig#fromJson} validates. */
public final class ConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private ConfigLoader() {}

  /** Parses {@code file}; a file that does not parse is a {@link ConfigException} naming the file and line. */
  @SuppressWarnings("unchecked")
  public static JsonObject load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("--config", "cannot read " + file + ": " + e.getMessage());
    }
    if (text.isBlank()) {
      return new JsonObject();
    }
    try {
      Object tree = YAML.readValue(text, Object.class);
      if (tree == null) {
        return new JsonObject();
      }
      if (!(tree instanceof Map<?, ?> map)) {
        throw new ConfigException("--config", file + " must hold a map of keys at its top");
      }
      return new JsonObject((Map<String, Object>) map);
    } catch (JacksonException e) {
      String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
      throw new ConfigException("--config", file + " does not parse" + where + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ConfigException("--config", "cannot read " + file + ": " + e.getMessage());
    }
  }
}
