package dev.tollgate.common;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the {@code upstreams:} section: a map from {@code host} or {@code host:port} to the way
 * that upstream is reached. Errors name the key as {@code upstreams[one.example.com].sni}.
 */
final class UpstreamsReader {
  private static final Set<String> KEYS = Set.of("dial", "sni", "verifyName", "trust", "clientCert", "clientKey");
  private static final String LABEL = "[a-z0-9_]([a-z0-9_-]*[a-z0-9])?";
  private static final String DNS_NAME = "(?i)" + LABEL + "(\\." + LABEL + ")*\\.?";

  private UpstreamsReader() {}

  static List<UpstreamConfig> read(Object section) {
    List<UpstreamConfig> out = new ArrayList<>();
    if (section == null) {
      return out;
    }
    if (!(section instanceof JsonObject map)) {
      throw new ConfigException("upstreams", "expected a map from host (or host:port) to its settings");
    }
    Set<String> seen = new HashSet<>();
    for (Map.Entry<String, Object> e : map) {
      String key = "upstreams[" + e.getKey() + "]";
      UpstreamConfig u = entry(key, e.getKey(), e.getValue());
      if (!seen.add(u.key())) {
        throw new ConfigException(key, "listed twice (keys compare without case and trailing dot)");
      }
      out.add(u);
    }
    return out;
  }

  private static UpstreamConfig entry(String key, String name, Object value) {
    if (!(value instanceof JsonObject o)) {
      throw new ConfigException(key, "expected a section with dial, sni, verifyName, trust, clientCert, clientKey");
    }
    for (String k : o.fieldNames()) {
      if (!KEYS.contains(k)) {
        throw new ConfigException(key + "." + k, "unknown key");
      }
    }
    HostPort hp = hostAndMaybePort(key, name);
    HostPort dial = null;
    if (o.getValue("dial") != null) {
      try {
        dial = HostPort.parse(string(o, "dial", key));
      } catch (IllegalArgumentException ex) {
        throw new ConfigException(key + ".dial", ex.getMessage() + " (use host:port)");
      }
      if (dial.port() == 0) {
        throw new ConfigException(key + ".dial", "port 0 cannot be dialed");
      }
    }
    String sni = string(o, "sni", key);
    if (sni != null && (IpLiterals.parse(sni) != null || !sni.matches(DNS_NAME))) {
      throw new ConfigException(key + ".sni", "expected a DNS name (SNI carries no IP address), got '" + sni + "'");
    }
    String verifyName = string(o, "verifyName", key);
    if (verifyName != null && IpLiterals.parse(verifyName) == null && !verifyName.matches(DNS_NAME)) {
      throw new ConfigException(key + ".verifyName", "expected a DNS name or an IP address, got '" + verifyName + "'");
    }
    List<Path> trust = new ArrayList<>();
    Object t = o.getValue("trust");
    if (t != null) {
      if (!(t instanceof JsonArray a)) {
        throw new ConfigException(key + ".trust", "expected a list of PEM CA files");
      }
      for (int i = 0; i < a.size(); i++) {
        if (!(a.getValue(i) instanceof String f) || f.isBlank()) {
          throw new ConfigException(key + ".trust[" + i + "]", "expected the path of a PEM CA file, got " + a.getValue(i));
        }
        trust.add(Path.of(f));
      }
    }
    Path cert = path(o, "clientCert", key);
    Path clientKey = path(o, "clientKey", key);
    if ((cert == null) != (clientKey == null)) {
      throw new ConfigException(key + (cert == null ? ".clientCert" : ".clientKey"), "clientCert and clientKey go together");
    }
    if (dial == null && sni == null && verifyName == null && trust.isEmpty() && cert == null) {
      throw new ConfigException(key, "sets nothing: give at least one of dial, sni, verifyName, trust, clientCert");
    }
    return new UpstreamConfig(hp.host(), hp.port(), dial, sni, verifyName, trust, cert, clientKey);
  }

  /** {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}; port 0 stands for any. */
  private static HostPort hostAndMaybePort(String key, String name) {
    String host = name;
    int port = 0;
    try {
      if (name.startsWith("[") && name.endsWith("]")) {
        host = name.substring(1, name.length() - 1);
      } else if (name.startsWith("[") || name.indexOf(':') >= 0 && name.indexOf(':') == name.lastIndexOf(':')) {
        HostPort hp = HostPort.parse(name);
        host = hp.host();
        port = hp.port();
        if (port == 0) {
          throw new IllegalArgumentException("port 0");
        }
      }
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, "expected a host or host:port as the key: " + e.getMessage());
    }
    if (IpLiterals.parse(host) == null && !host.matches(DNS_NAME)) {
      throw new ConfigException(key, "expected a host name or IP address as the key, got '" + host + "'");
    }
    return new HostPort(host, port);
  }

  private static String string(JsonObject o, String name, String key) {
    Object v = o.getValue(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s) || s.isBlank()) {
      throw new ConfigException(key + "." + name, "expected a non-empty string, got " + v);
    }
    return s;
  }

  private static Path path(JsonObject o, String name, String key) {
    String s = string(o, name, key);
    return s == null ? null : Path.of(s);
  }
}
