package dev.tollgate.common.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One policy rule: an action and the matchers a request must all satisfy. An empty matcher list
 * means the matcher is absent and matches anything (the document leaves the key out).
 *
 * @param id unique within the policy; named in decisions, logs and {@code X-Tollgate-Reason}
 * @param action what a matching request gets
 * @param hosts target hosts, see {@link HostPattern}
 * @param ports target ports
 * @param users verified user names
 * @param groups groups the verified user belongs to (any of them)
 * @param methods upper-case HTTP methods, e.g. {@code CONNECT}
 * @param listeners names of terminating listeners; a rule with them decides requests on those
 *     listeners only, a rule without them requests on the proxy listeners only
 * @param clients verified client certificates (any of them); only on terminating listeners
 */
public record Rule(
    String id,
    Action action,
    List<HostPattern> hosts,
    List<PortRange> ports,
    List<String> users,
    List<String> groups,
    List<String> methods,
    List<String> listeners,
    List<ClientPattern> clients) {

  private static final Set<String> KEYS =
      Set.of("id", "action", "hosts", "ports", "users", "groups", "methods", "listeners", "clients");
  /** As terminating listeners' names are written in the config. */
  private static final Pattern LISTENER = Pattern.compile("[A-Za-z0-9._-]{1,63}");
  /** Ids travel in a response header and log lines: keep them to a safe alphabet. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z_-]{0,31}");

  public Rule {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(action, "action");
    hosts = List.copyOf(hosts);
    ports = List.copyOf(ports);
    users = List.copyOf(users);
    groups = List.copyOf(groups);
    methods = List.copyOf(methods);
    listeners = List.copyOf(listeners);
    clients = List.copyOf(clients);
  }

  /** A rule for the proxy listeners (no {@code listeners}, no {@code clients}). */
  public Rule(
      String id, Action action, List<HostPattern> hosts, List<PortRange> ports, List<String> users, List<String> groups, List<String> methods) {
    this(id, action, hosts, ports, users, groups, methods, List.of(), List.of());
  }

  /** Whether {@code certificate} matches one of {@link #clients()}, or the rule has no client matcher. */
  public boolean matchesClient(ClientCertificate certificate) {
    if (clients.isEmpty()) {
      return true;
    }
    for (ClientPattern p : clients) {
      if (p.matches(certificate)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code port} is one of {@link #ports()}, or the rule has no port matcher. */
  public boolean matchesPort(int port) {
    if (ports.isEmpty()) {
      return true;
    }
    for (PortRange r : ports) {
      if (r.contains(port)) {
        return true;
      }
    }
    return false;
  }

  /** The document form: matchers that are absent are left out. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject().put("id", id).put("action", action.json());
    if (!hosts.isEmpty()) {
      o.put("hosts", new JsonArray(hosts.stream().map(HostPattern::toString).toList()));
    }
    if (!ports.isEmpty()) {
      o.put("ports", new JsonArray(ports.stream().map(PortRange::toJson).toList()));
    }
    if (!users.isEmpty()) {
      o.put("users", new JsonArray(users));
    }
    if (!groups.isEmpty()) {
      o.put("groups", new JsonArray(groups));
    }
    if (!methods.isEmpty()) {
      o.put("methods", new JsonArray(methods));
    }
    if (!listeners.isEmpty()) {
      o.put("listeners", new JsonArray(listeners));
    }
    if (!clients.isEmpty()) {
      o.put("clients", new JsonArray(clients.stream().map(ClientPattern::toString).toList()));
    }
    return o;
  }

  /** Reads the rule at {@code path}; users and groups are checked against {@code auth}. */
  static Rule read(Object value, String path, Auth auth) {
    JsonObject o = Json.object(value, path);
    Json.checkKeys(o, path, KEYS);
    String id = required(o, "id", path);
    if (!ID.matcher(id).matches()) {
      throw new PolicyException(Json.at(path, "id"), "use 1-64 letters, digits, '.', '_', ':' or '-', got " + Json.describe(id));
    }
    String actionText = required(o, "action", path);
    Action action = Action.fromJson(actionText);
    if (action == null) {
      throw new PolicyException(Json.at(path, "action"), "expected allow, deny, intercept or tunnel, got " + Json.describe(actionText));
    }
    Rule rule =
        new Rule(
            id,
            action,
            Json.matcher(o, "hosts", path, Rule::host),
            Json.matcher(o, "ports", path, PortRange::read),
            Json.matcher(o, "users", path, (v, p) -> user(v, p, auth)),
            Json.matcher(o, "groups", path, (v, p) -> group(v, p, auth)),
            Json.matcher(o, "methods", path, Rule::method),
            Json.matcher(o, "listeners", path, Rule::listener),
            Json.matcher(o, "clients", path, Rule::client));
    checkListenerRule(rule, path);
    return rule;
  }

  /**
   * A terminating listener serves a site's visitors, not proxy users: its rules allow or deny and
   * match clients by certificate, never by proxy login; client certificates exist only there.
   */
  private static void checkListenerRule(Rule rule, String path) {
    if (rule.listeners.isEmpty()) {
      if (!rule.clients.isEmpty()) {
        throw new PolicyException(Json.at(path, "clients"), "client certificates are verified on terminating listeners only; name them in listeners");
      }
      return;
    }
    if (rule.action != Action.ALLOW && rule.action != Action.DENY) {
      throw new PolicyException(Json.at(path, "action"), "a rule with listeners takes allow or deny, got " + rule.action.json());
    }
    if (!rule.users.isEmpty() || !rule.groups.isEmpty()) {
      String key = rule.users.isEmpty() ? "groups" : "users";
      throw new PolicyException(Json.at(path, key), "terminating listeners have no proxy login; match clients by certificate instead");
    }
  }

  private static String listener(Object value, String path) {
    String name = Json.string(value, path);
    if (!LISTENER.matcher(name).matches()) {
      throw new PolicyException(path, "expected the name of a terminating listener (1-63 letters, digits, '.', '_' or '-'), got " + Json.describe(name));
    }
    return name;
  }

  private static ClientPattern client(Object value, String path) {
    try {
      return ClientPattern.parse(Json.string(value, path));
    } catch (IllegalArgumentException e) {
      throw new PolicyException(path, e.getMessage());
    }
  }

  private static String required(JsonObject o, String key, String path) {
    Object v = o.getValue(key);
    if (v == null) {
      throw new PolicyException(Json.at(path, key), "required");
    }
    return Json.string(v, Json.at(path, key));
  }

  private static HostPattern host(Object value, String path) {
    try {
      return HostPattern.parse(Json.string(value, path));
    } catch (IllegalArgumentException e) {
      throw new PolicyException(path, e.getMessage());
    }
  }

  private static String user(Object value, String path, Auth auth) {
    String name = Json.string(value, path);
    if (!auth.mayBeUser(name)) {
      throw new PolicyException(path, "unknown user " + Json.describe(name) + "; " + Auth.USERS_LISTED);
    }
    return name;
  }

  private static String group(Object value, String path, Auth auth) {
    String name = Json.string(value, path);
    if (!auth.groups().containsKey(name)) {
      throw new PolicyException(path, "unknown group " + Json.describe(name) + "; " + Auth.GROUPS_LISTED);
    }
    return name;
  }

  private static String method(Object value, String path) {
    String m = Json.string(value, path);
    if (!METHOD.matcher(m).matches()) {
      throw new PolicyException(path, "expected an upper-case HTTP method such as CONNECT or GET, got " + Json.describe(m));
    }
    return m;
  }
}
