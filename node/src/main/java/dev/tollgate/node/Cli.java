package dev.tollgate.node;

import dev.tollgate.common.ConfigException;
import dev.tollgate.common.ConfigLoader;
import dev.tollgate.common.NodeConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line: options override the config file's keys of the same meaning. */
final class Cli {
  static final String USAGE =
      """
      Usage: tollgate [options]
             tollgate hash-password    (reads a password on stdin, prints its bcrypt hash)
             tollgate ca export [options]
                                       (prints the interception CA certificate, PEM)

      Runs one Tollgate node. With no options: proxy on 127.0.0.1:3128, control API on
      127.0.0.1:9090, state in ./data.

      Options:
        --config FILE              YAML config file (keys: proxy.listen, proxy.tls.listen,
                                   proxy.tls.cert, proxy.tls.key, control.listen, node.name,
                                   node.dataDir, node.drainTimeout, node.drainDelay,
                                   network.allowPrivate,
                                   network.connectPorts, timeouts.connect, timeouts.idle,
                                   timeouts.maxLifetime, timeouts.header, policy,
                                   accessLog.file, accessLog.format, cluster.enabled,
                                   cluster.listen, cluster.members, mitm.ca.cert, mitm.ca.key,
                                   mitm.ca.keyAlgorithm, mitm.ca.permittedDomains); options
                                   below override it
        --proxy-listen HOST:PORT   plain proxy listener, HTTP/1.1 and h2c (proxy.listen)
        --proxy-tls-listen HOST:PORT
                                   HTTPS proxy listener, h2 and HTTP/1.1 by ALPN
                                   (proxy.tls.listen); a self-signed certificate is generated
                                   in the data dir unless proxy.tls.cert/key are set
        --control-listen HOST:PORT control API listener (control.listen)
        --data-dir DIR             where the node keeps its state (node.dataDir)
        --node-name NAME           this node's name in logs and Via (node.name)
        --allow-private CIDR       exempt a private network from the SSRF refusal
                                   (network.allowPrivate); repeatable
        --policy FILE              policy JSON that seeds the policy store when it is
                                   empty (policy)
        --cluster                  join a cluster through Hazelcast (cluster.enabled)
        --cluster-listen HOST:PORT interface and port Hazelcast binds (cluster.listen,
                                   default 127.0.0.1:5701)
        --cluster-members HOST:PORT[,HOST:PORT...]
                                   members to join by TCP-IP (cluster.members); repeatable
        --help                     print this help and exit
      """;

  final boolean help;
  private final Path configFile;
  private final JsonObject overrides;

  private Cli(boolean help, Path configFile, JsonObject overrides) {
    this.help = help;
    this.configFile = configFile;
    this.overrides = overrides;
  }

  static Cli parse(String[] args) {
    Path config = null;
    JsonObject o = new JsonObject();
    List<String> allow = new ArrayList<>();
    List<String> members = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (name.equals("--help") || name.equals("-h")) {
        return new Cli(true, null, o);
      }
      if (!name.startsWith("--")) {
        throw new ConfigException(arg, "unexpected argument (see --help)");
      }
      if (name.equals("--cluster") && value == null) {
        section(o, "cluster").put("enabled", true);
        continue;
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new ConfigException(name, "needs a value");
        }
        value = args[++i];
      }
      switch (name) {
        case "--config" -> config = Path.of(value);
        case "--proxy-listen" -> section(o, "proxy").put("listen", value);
        case "--proxy-tls-listen" -> section(section(o, "proxy"), "tls").put("listen", value);
        case "--control-listen" -> section(o, "control").put("listen", value);
        case "--data-dir" -> section(o, "node").put("dataDir", value);
        case "--node-name" -> section(o, "node").put("name", value);
        case "--allow-private" -> allow.add(value);
        case "--policy" -> o.put("policy", value);
        case "--cluster" -> section(o, "cluster").put("enabled", Boolean.parseBoolean(value));
        case "--cluster-listen" -> section(o, "cluster").put("listen", value);
        case "--cluster-members" -> members.addAll(List.of(value.split(",")));
        default -> throw new ConfigException(name, "unknown option (see --help)");
      }
    }
    if (!allow.isEmpty()) {
      section(o, "network").put("allowPrivate", new JsonArray(new ArrayList<>(allow)));
    }
    if (!members.isEmpty()) {
      section(o, "cluster").put("members", new JsonArray(members.stream().map(String::trim).filter(m -> !m.isEmpty()).toList()));
    }
    return new Cli(false, config, o);
  }

  /** The config file (if any) with the command line's overrides applied, validated. */
  NodeConfig config() {
    JsonObject base = configFile == null ? new JsonObject() : ConfigLoader.load(configFile);
    merge(base, overrides);
    return NodeConfig.fromJson(base);
  }

  private static JsonObject section(JsonObject parent, String name) {
    JsonObject s = parent.getJsonObject(name);
    if (s == null) {
      s = new JsonObject();
      parent.put(name, s);
    }
    return s;
  }

  /** Deep merge: {@code over}'s leaves replace {@code base}'s. */
  static void merge(JsonObject base, JsonObject over) {
    for (String key : over.fieldNames()) {
      Object v = over.getValue(key);
      Object b = base.getValue(key);
      if (v instanceof JsonObject vo && b instanceof JsonObject bo) {
        merge(bo, vo);
        base.put(key, bo);
      } else {
        base.put(key, v);
      }
    }
  }
}
