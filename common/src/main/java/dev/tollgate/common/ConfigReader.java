package dev.tollgate.common;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads and validates the config document; every error names its key. Unknown keys are errors too. */
final class ConfigReader {

  private static final Map<String, Set<String>> KNOWN =
      Map.ofEntries(
          Map.entry("", Set.of("proxy", "control", "node", "network", "timeouts", "policy", "accessLog", "cluster", "mitm", "limits", "upstreams", "terminate", "metrics")),
          Map.entry("metrics", Set.of("userLabels")),
          Map.entry("mitm", Set.of("ca", "upstreamTrust", "learnPassthrough", "rewriteMaxBody")),
          Map.entry("limits", Set.of("maxTunnelsPerNode", "maxConnectionsPerClientAddress", "memoryGuard")),
          Map.entry("mitm.ca", Set.of("cert", "key", "keyAlgorithm", "permittedDomains")),
          Map.entry("cluster", Set.of("enabled", "listen", "members")),
          Map.entry("accessLog", Set.of("file", "format")),
          Map.entry("proxy", Set.of("listen", "tls", "xForwardedFor", "maxHeaderSize", "maxUriLength")),
          Map.entry("proxy.tls", Set.of("listen", "cert", "key")),
          Map.entry("control", Set.of("listen", "token")),
          Map.entry("node", Set.of("name", "dataDir", "drainTimeout", "drainDelay")),
          Map.entry("network", Set.of("allowPrivate", "connectPorts")),
          Map.entry("timeouts", Set.of("connect", "idle", "maxLifetime", "header")));

  private final JsonObject root;

  ConfigReader(JsonObject root) {
    this.root = root == null ? new JsonObject() : root;
  }

  NodeConfig read() {
    checkKeys("", root);
    JsonObject proxy = section(root, "proxy");
    JsonObject tls = section(proxy, "proxy.tls");
    JsonObject control = section(root, "control");
    JsonObject node = section(root, "node");
    JsonObject network = section(root, "network");
    JsonObject timeouts = section(root, "timeouts");
    JsonObject accessLog = section(root, "accessLog");
    JsonObject cluster = section(root, "cluster");
    JsonObject mitm = section(root, "mitm");
    JsonObject limits = section(root, "limits");
    JsonObject ca = section(mitm, "mitm.ca");
    String format = string(accessLog, "format", "accessLog.format", "json");
    if (!format.equals("json") && !format.equals("squid")) {
      throw new ConfigException("accessLog.format", "json or squid, got '" + format + "'");
    }

    HostPort tlsListen = tls.containsKey("listen") ? hostPort(tls, "listen", "proxy.tls.listen", null) : null;
    Path cert = path(tls, "cert", "proxy.tls.cert");
    Path key = path(tls, "key", "proxy.tls.key");
    if ((cert == null) != (key == null)) {
      throw new ConfigException(cert == null ? "proxy.tls.cert" : "proxy.tls.key", "cert and key go together");
    }
    if (tlsListen == null && cert != null) {
      throw new ConfigException("proxy.tls.listen", "required when proxy.tls.cert is set");
    }
    return new NodeConfig(
        hostPort(proxy, "listen", "proxy.listen", NodeConfig.DEFAULT_PROXY_LISTEN),
        tlsListen,
        cert,
        key,
        bool(proxy, "xForwardedFor", "proxy.xForwardedFor", false),
        integer(proxy, "maxHeaderSize", "proxy.maxHeaderSize", NodeConfig.DEFAULT_MAX_HEADER_SIZE, 1024, 1 << 20),
        integer(proxy, "maxUriLength", "proxy.maxUriLength", NodeConfig.DEFAULT_MAX_URI_LENGTH, 256, 1 << 20),
        hostPort(control, "listen", "control.listen", NodeConfig.DEFAULT_CONTROL_LISTEN),
        token(control),
        nodeName(node),
        Path.of(string(node, "dataDir", "node.dataDir", NodeConfig.DEFAULT_DATA_DIR)),
        cidrs(network, "allowPrivate", "network.allowPrivate"),
        ports(network, "connectPorts", "network.connectPorts"),
        new NodeConfig.Timeouts(
            duration(timeouts, "connect", NodeConfig.Timeouts.DEFAULT_CONNECT),
            duration(timeouts, "idle", NodeConfig.Timeouts.DEFAULT_IDLE),
            duration(timeouts, "maxLifetime", NodeConfig.Timeouts.DEFAULT_MAX_LIFETIME),
            duration(timeouts, "header", NodeConfig.Timeouts.DEFAULT_HEADER)),
        path(root, "policy", "policy"),
        path(accessLog, "file", "accessLog.file"),
        format,
        cluster(cluster),
        ca(ca, mitm),
        new NodeConfig.Capacity(
            integer(limits, "maxTunnelsPerNode", "limits.maxTunnelsPerNode", 0, 0, 10_000_000),
            integer(limits, "maxConnectionsPerClientAddress", "limits.maxConnectionsPerClientAddress", 0, 0, 10_000_000),
            ratio(limits, "memoryGuard", "limits.memoryGuard", NodeConfig.Capacity.DEFAULT_MEMORY_GUARD)),
        node.getValue("drainTimeout") == null ? NodeConfig.DEFAULT_DRAIN_TIMEOUT : Durations.parse("node.drainTimeout", node.getValue("drainTimeout")),
        node.getValue("drainDelay") == null ? NodeConfig.DEFAULT_DRAIN_DELAY : Durations.parseZeroOrPositive("node.drainDelay", node.getValue("drainDelay")),
        UpstreamsReader.read(root.getValue("upstreams")),
        TerminateReader.read(root.getValue("terminate")),
        bool(section(root, "metrics"), "userLabels", "metrics.userLabels", false));
  }

  private static double ratio(JsonObject o, String name, String key, double fallback) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number n) || n.doubleValue() <= 0 || n.doubleValue() > 1) {
      throw new ConfigException(key, "expected a fraction of the heap above 0 and at most 1 (e.g. 0.9), got " + v);
    }
    return n.doubleValue();
  }

  private static NodeConfig.Ca ca(JsonObject ca, JsonObject mitm) {
    List<Path> trust = new ArrayList<>();
    JsonArray t = array(mitm, "upstreamTrust", "mitm.upstreamTrust");
    if (t != null) {
      for (int i = 0; i < t.size(); i++) {
        if (!(t.getValue(i) instanceof String f) || f.isBlank()) {
          throw new ConfigException("mitm.upstreamTrust[" + i + "]", "expected the path of a PEM CA file, got " + t.getValue(i));
        }
        trust.add(Path.of(f));
      }
    }
    Path cert = path(ca, "cert", "mitm.ca.cert");
    Path key = path(ca, "key", "mitm.ca.key");
    if ((cert == null) != (key == null)) {
      throw new ConfigException(cert == null ? "mitm.ca.cert" : "mitm.ca.key", "cert and key go together");
    }
    String algorithm = string(ca, "keyAlgorithm", "mitm.ca.keyAlgorithm", "ec");
    if (!algorithm.equals("ec") && !algorithm.equals("rsa")) {
      throw new ConfigException("mitm.ca.keyAlgorithm", "ec (P-256) or rsa (2048), got '" + algorithm + "'");
    }
    List<String> domains = new ArrayList<>();
    JsonArray a = array(ca, "permittedDomains", "mitm.ca.permittedDomains");
    if (a != null) {
      for (int i = 0; i < a.size(); i++) {
        Object v = a.getValue(i);
        if (!(v instanceof String d) || !d.matches("(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
          throw new ConfigException("mitm.ca.permittedDomains[" + i + "]", "expected a domain name such as example.com, got " + v);
        }
        domains.add(d.toLowerCase(java.util.Locale.ROOT));
      }
    }
    return new NodeConfig.Ca(cert, key, algorithm, domains, trust, bool(mitm, "learnPassthrough", "mitm.learnPassthrough", false),
        integer(mitm, "rewriteMaxBody", "mitm.rewriteMaxBody", NodeConfig.Ca.DEFAULT_REWRITE_MAX_BODY, 0, NodeConfig.Ca.MAX_REWRITE_MAX_BODY));
  }

  private static NodeConfig.Cluster cluster(JsonObject cluster) {
    boolean enabled = bool(cluster, "enabled", "cluster.enabled", false);
    HostPort listen = hostPort(cluster, "listen", "cluster.listen", NodeConfig.Cluster.DEFAULT_LISTEN);
    if (IpLiterals.parse(listen.host()) == null) {
      throw new ConfigException("cluster.listen", "use an IP address (the interface Hazelcast binds), got '" + listen.host() + "'");
    }
    if (listen.port() == 0) {
      throw new ConfigException("cluster.listen", "needs a fixed port: the other members find this node by it");
    }
    List<HostPort> members = new ArrayList<>();
    JsonArray a = array(cluster, "members", "cluster.members");
    if (a != null) {
      for (int i = 0; i < a.size(); i++) {
        try {
          members.add(HostPort.parse(String.valueOf(a.getValue(i))));
        } catch (IllegalArgumentException e) {
          throw new ConfigException("cluster.members[" + i + "]", e.getMessage());
        }
      }
    }
    return new NodeConfig.Cluster(enabled, listen, members);
  }

  private static void checkKeys(String path, JsonObject o) {
    Set<String> known = KNOWN.get(path);
    for (String k : o.fieldNames()) {
      if (!known.contains(k)) {
        throw new ConfigException(path.isEmpty() ? k : path + "." + k, "unknown key");
      }
    }
  }

  private static JsonObject section(JsonObject parent, String path) {
    String name = path.substring(path.lastIndexOf('.') + 1);
    Object v = parent.getValue(name);
    if (v == null) {
      return new JsonObject();
    }
    if (!(v instanceof JsonObject o)) {
      throw new ConfigException(path, "expected a section (a map of keys)");
    }
    checkKeys(path, o);
    return o;
  }

  private static String nodeName(JsonObject node) {
    String fallback = System.getenv().getOrDefault("HOSTNAME", "tollgate");
    String name = string(node, "name", "node.name", fallback);
    if (name.isBlank() || !name.matches("[A-Za-z0-9._-]{1,63}")) {
      throw new ConfigException("node.name", "use 1-63 letters, digits, '.', '_' or '-', got '" + name + "'");
    }
    return name;
  }

  private static String token(JsonObject control) {
    String token = string(control, "token", "control.token", null);
    if (token != null && (token.length() < NodeConfig.MIN_CONTROL_TOKEN_LENGTH || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f))) {
      throw new ConfigException(
          "control.token", "use at least " + NodeConfig.MIN_CONTROL_TOKEN_LENGTH + " printable characters without spaces");
    }
    return token;
  }

  private static HostPort hostPort(JsonObject o, String name, String key, String fallback) {
    String text = string(o, name, key, fallback);
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  private static String string(JsonObject o, String name, String key, String fallback) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof String s)) {
      throw new ConfigException(key, "expected a string, got " + v);
    }
    return s;
  }

  private static Path path(JsonObject o, String name, String key) {
    String s = string(o, name, key, null);
    if (s != null && s.isBlank()) {
      throw new ConfigException(key, "empty path");
    }
    return s == null ? null : Path.of(s);
  }

  private static boolean bool(JsonObject o, String name, String key, boolean fallback) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Boolean b)) {
      throw new ConfigException(key, "expected true or false, got " + v);
    }
    return b;
  }

  private static int integer(JsonObject o, String name, String key, int fallback, int min, int max) {
    Object v = o.getValue(name);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new ConfigException(key, "expected a whole number, got " + v);
    }
    long l = n.longValue();
    if (l < min || l > max) {
      throw new ConfigException(key, "must be between " + min + " and " + max + ", got " + v);
    }
    return (int) l;
  }

  private static Duration duration(JsonObject timeouts, String name, Duration fallback) {
    Object v = timeouts.getValue(name);
    return v == null ? fallback : Durations.parse("timeouts." + name, v);
  }

  private static JsonArray array(JsonObject o, String name, String key) {
    Object v = o.getValue(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      throw new ConfigException(key, "expected a list");
    }
    return a;
  }

  private static List<Cidr> cidrs(JsonObject o, String name, String key) {
    JsonArray a = array(o, name, key);
    List<Cidr> out = new ArrayList<>();
    if (a == null) {
      return out;
    }
    for (int i = 0; i < a.size(); i++) {
      try {
        out.add(Cidr.parse(String.valueOf(a.getValue(i))));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(key + "[" + i + "]", e.getMessage());
      }
    }
    return out;
  }

  private static Set<Integer> ports(JsonObject o, String name, String key) {
    JsonArray a = array(o, name, key);
    if (a == null) {
      return new LinkedHashSet<>(NodeConfig.DEFAULT_CONNECT_PORTS);
    }
    Set<Integer> out = new LinkedHashSet<>();
    for (int i = 0; i < a.size(); i++) {
      Object v = a.getValue(i);
      if (!(v instanceof Number n) || n.intValue() < 1 || n.intValue() > 65535 || n.doubleValue() != n.intValue()) {
        throw new ConfigException(key + "[" + i + "]", "expected a port 1-65535, got " + v);
      }
      out.add(n.intValue());
    }
    return out;
  }
}
