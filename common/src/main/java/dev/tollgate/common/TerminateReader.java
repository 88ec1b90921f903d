package dev.tollgate.common;

import dev.tollgate.common.TerminateConfig.Backend;
import dev.tollgate.common.TerminateConfig.CertFiles;
import dev.tollgate.common.TerminateConfig.ClientAuth;
import dev.tollgate.common.TerminateConfig.Hsts;
import dev.tollgate.common.TerminateConfig.Kind;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads the {@code terminate:} list; every error names its key, e.g. {@code terminate[0].routes.a.example.com}. */
final class TerminateReader {
  private static final Set<String> KEYS =
      Set.of("name", "listen", "kind", "cert", "key", "sni", "routes", "backend", "hsts", "redirectHttp", "clientAuth", "clientCa", "identityHeader", "preserveHost");
  private static final Set<String> HSTS_KEYS = Set.of("maxAge", "includeSubDomains", "preload");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,63}");
  private static final Pattern LABELS = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}");
  /** Headers the proxy sets itself: an identity header by one of these names would be overwritten or misread. */
  private static final Set<String> RESERVED =
      Set.of("host", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "via", "connection", "content-length", "transfer-encoding", "upgrade");
  /** The preload list's floor (hstspreload.org): a year. */
  private static final Duration PRELOAD_MIN = Duration.ofDays(365);

  private TerminateReader() {}

  static List<TerminateConfig> read(Object value) {
    List<TerminateConfig> out = new ArrayList<>();
    if (value == null) {
      return out;
    }
    if (!(value instanceof JsonArray list)) {
      throw new ConfigException("terminate", "expected a list of listeners");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String at = "terminate[" + i + "]";
      if (!(list.getValue(i) instanceof JsonObject o)) {
        throw new ConfigException(at, "expected a listener (a map of keys)");
      }
      TerminateConfig t = listener(o, at, i);
      if (!names.add(t.name())) {
        throw new ConfigException(at + ".name", "'" + t.name() + "' is used by another listener");
      }
      out.add(t);
    }
    return out;
  }

  private static TerminateConfig listener(JsonObject o, String at, int index) {
    for (String k : o.fieldNames()) {
      if (!KEYS.contains(k)) {
        throw new ConfigException(at + "." + k, "unknown key");
      }
    }
    String name = string(o, "name", at, "terminate-" + index);
    if (!NAME.matcher(name).matches()) {
      throw new ConfigException(at + ".name", "use 1-63 letters, digits, '.', '_' or '-', got '" + name + "'");
    }
    HostPort listen = hostPort(o, "listen", at);
    if (listen == null) {
      throw new ConfigException(at + ".listen", "required (HOST:PORT of the TLS listener)");
    }
    String kindText = string(o, "kind", at, "http");
    Kind kind =
        switch (kindText) {
          case "http" -> Kind.HTTP;
          case "tunnelService" -> Kind.TUNNEL_SERVICE;
          default -> throw new ConfigException(at + ".kind", "http or tunnelService, got '" + kindText + "'");
        };
    CertFiles certificate = certFiles(o, at);
    if (certificate == null) {
      throw new ConfigException(at + ".cert", "required: the default certificate (PEM chain) and its key");
    }
    String authText = string(o, "clientAuth", at, kind == Kind.TUNNEL_SERVICE ? "required" : "none");
    ClientAuth clientAuth =
        switch (authText) {
          case "none" -> ClientAuth.NONE;
          case "optional" -> ClientAuth.OPTIONAL;
          case "required" -> ClientAuth.REQUIRED;
          default -> throw new ConfigException(at + ".clientAuth", "none, optional or required, got '" + authText + "'");
        };
    Path clientCa = path(o, "clientCa", at);
    if (clientAuth != ClientAuth.NONE && clientCa == null) {
      throw new ConfigException(at + ".clientCa", "required with clientAuth " + authText + " (the PEM CA bundle client certificates must chain to)");
    }
    if (clientAuth == ClientAuth.NONE && clientCa != null) {
      throw new ConfigException(at + ".clientCa", "set, but clientAuth is none: say optional or required");
    }
    String identityHeader = string(o, "identityHeader", at, TerminateConfig.DEFAULT_IDENTITY_HEADER);
    if (!TOKEN.matcher(identityHeader).matches() || RESERVED.contains(identityHeader.toLowerCase(Locale.ROOT))) {
      throw new ConfigException(at + ".identityHeader", "expected a header name of your own such as X-Client-Identity, got '" + identityHeader + "'");
    }
    Map<String, CertFiles> sni = sni(o, at);
    Map<String, Backend> routes = routes(o, at);
    Backend backend = o.getValue("backend") == null ? null : backend(string(o, "backend", at, null), at + ".backend");
    Hsts hsts = hsts(o, at);
    HostPort redirect = hostPort(o, "redirectHttp", at);
    if (kind == Kind.HTTP) {
      if (routes.isEmpty()) {
        throw new ConfigException(at + ".routes", "required: at least one host → backend (http://host:port or https://host:port)");
      }
      if (backend != null) {
        throw new ConfigException(at + ".backend", "only for kind tunnelService; http listeners use routes");
      }
    } else {
      if (backend == null) {
        throw new ConfigException(at + ".backend", "required for kind tunnelService");
      }
      if (clientAuth != ClientAuth.REQUIRED) {
        throw new ConfigException(at + ".clientAuth", "a tunnel service always requires a client certificate");
      }
      for (String httpOnly : List.of("routes", "hsts", "redirectHttp", "preserveHost")) {
        if (o.containsKey(httpOnly)) {
          throw new ConfigException(at + "." + httpOnly, "only for kind http");
        }
      }
    }
    boolean preserveHost = bool(o, "preserveHost", at, false);
    return new TerminateConfig(name, listen, kind, certificate, sni, routes, backend, hsts, redirect, clientAuth, clientCa, identityHeader, preserveHost);
  }

  private static CertFiles certFiles(JsonObject o, String at) {
    Path cert = path(o, "cert", at);
    Path key = path(o, "key", at);
    if ((cert == null) != (key == null)) {
      throw new ConfigException(at + (cert == null ? ".cert" : ".key"), "cert and key go together");
    }
    return cert == null ? null : new CertFiles(cert, key);
  }

  private static Map<String, CertFiles> sni(JsonObject o, String at) {
    Map<String, CertFiles> out = new LinkedHashMap<>();
    JsonObject sni = map(o, "sni", at);
    for (String name : sni.fieldNames()) {
      String key = at + ".sni." + name;
      String host = hostKey(name, key, false);
      if (!(sni.getValue(name) instanceof JsonObject files)) {
        throw new ConfigException(key, "expected {cert, key}");
      }
      for (String k : files.fieldNames()) {
        if (!k.equals("cert") && !k.equals("key")) {
          throw new ConfigException(key + "." + k, "unknown key");
        }
      }
      CertFiles f = certFiles(files, key);
      if (f == null) {
        throw new ConfigException(key + ".cert", "required");
      }
      out.put(host, f);
    }
    return out;
  }

  private static Map<String, Backend> routes(JsonObject o, String at) {
    Map<String, Backend> out = new LinkedHashMap<>();
    JsonObject routes = map(o, "routes", at);
    for (String host : routes.fieldNames()) {
      String key = at + ".routes." + host;
      if (!(routes.getValue(host) instanceof String uri)) {
        throw new ConfigException(key, "expected a backend URL such as http://127.0.0.1:8080");
      }
      out.put(hostKey(host, key, true), backend(uri, key));
    }
    return out;
  }

  /** An exact host name, {@code *.suffix}, or (routes only) {@code *}; lower-cased. */
  private static String hostKey(String text, String key, boolean anyAllowed) {
    String h = text.toLowerCase(Locale.ROOT);
    if (anyAllowed && h.equals("*")) {
      return h;
    }
    String labels = h.startsWith("*.") ? h.substring(2) : h;
    if (!LABELS.matcher(labels).matches() && IpLiterals.parse(h) == null) {
      throw new ConfigException(key, "expected a host name, *.suffix" + (anyAllowed ? " or *" : "") + ", got '" + text + "'");
    }
    return h;
  }

  static Backend backend(String uri, String key) {
    boolean tls;
    String rest;
    if (uri.startsWith("http://")) {
      tls = false;
      rest = uri.substring(7);
    } else if (uri.startsWith("https://")) {
      tls = true;
      rest = uri.substring(8);
    } else {
      throw new ConfigException(key, "expected http://host:port or https://host:port, got '" + uri + "'");
    }
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    if (rest.isEmpty() || rest.contains("/") || rest.contains("?") || rest.contains("@") || rest.contains("#")) {
      throw new ConfigException(key, "expected scheme://host:port without path, query or user, got '" + uri + "'");
    }
    boolean hasPort = rest.startsWith("[") ? rest.contains("]:") : rest.contains(":");
    try {
      HostPort hp = HostPort.parse(hasPort ? rest : (rest + ":" + (tls ? 443 : 80)));
      if (hp.port() == 0) {
        throw new IllegalArgumentException("port 0");
      }
      return new Backend(tls, hp.host(), hp.port());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, "bad backend '" + uri + "': " + e.getMessage());
    }
  }

  private static Hsts hsts(JsonObject o, String at) {
    if (o.getValue("hsts") == null) {
      return null;
    }
    String key = at + ".hsts";
    JsonObject h = map(o, "hsts", at);
    for (String k : h.fieldNames()) {
      if (!HSTS_KEYS.contains(k)) {
        throw new ConfigException(key + "." + k, "unknown key");
      }
    }
    Object age = h.getValue("maxAge");
    if (age == null) {
      throw new ConfigException(key + ".maxAge", "required, e.g. 365d (or seconds; 0 tells browsers to forget the policy)");
    }
    Duration maxAge = age instanceof Number n && n.longValue() == 0 && n.doubleValue() == 0 ? Duration.ZERO : Durations.parse(key + ".maxAge", age);
    boolean sub = bool(h, "includeSubDomains", key, false);
    boolean preload = bool(h, "preload", key, false);
    if (preload && (!sub || maxAge.compareTo(PRELOAD_MIN) < 0)) {
      throw new ConfigException(key + ".preload", "the preload list needs includeSubDomains and a maxAge of at least 365d");
    }
    return new Hsts(maxAge, sub, preload);
  }

  private static JsonObject map(JsonObject o, String name, String at) {
    Object v = o.getValue(name);
    if (v == null) {
      return new JsonObject();
    }
    if (!(v instanceof JsonObject m)) {
      throw new ConfigException(at + "." + name, "expected a map");
    }
    return m;
  }

  private static HostPort hostPort(JsonObject o, String name, String at) {
    String text = string(o, name, at, null);
    if (text == null) {
      return null;
    }
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(at + "." + name, e.getMessage());
    }
  }

  private static String string(JsonObject o, String name, String at, String fallback) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof String s)) {
      throw new ConfigException(at + "." + name, "expected a string, got " + v);
    }
    return s;
  }

  private static Path path(JsonObject o, String name, String at) {
    String s = string(o, name, at, null);
    if (s != null && s.isBlank()) {
      throw new ConfigException(at + "." + name, "empty path");
    }
    return s == null ? null : Path.of(s);
  }

  private static boolean bool(JsonObject o, String name, String at, boolean fallback) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Boolean b)) {
      throw new ConfigException(at + "." + name, "expected true or false, got " + v);
    }
    return b;
  }
}
