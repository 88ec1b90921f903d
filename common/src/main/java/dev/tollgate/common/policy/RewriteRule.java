package dev.tollgate.common.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * One entry of the policy's {@code rewrite} list: which exchanges it applies to (host patterns as in
 * rules, path patterns) and what it changes in them. Every rule that matches an exchange applies,
 * in document order, so a later rule's header value wins over an earlier one's.
 *
 * <pre>{@code
 * {"hosts": ["api.example.com"], "paths": ["/v1/*"],
 *  "request":  {"setHeaders": {"x-debug": "1"}, "removeHeaders": ["cookie"]},
 *  "response": {"setHeaders": {"cache-control": "no-store"}, "removeHeaders": ["server"],
 *               "replace": [{"find": "\"beta\":false", "with": "\"beta\":true"}]}}
 * }</pre>
 *
 * @param hosts the host patterns the exchange's host must match one of; empty: any host
 * @param paths path patterns ({@code /exact} or {@code /prefix*}, compared with the path without
 *     its query) the exchange must match one of; empty: any path
 * @param request header edits on the way to the upstream
 * @param response header edits on the way back
 * @param replace text replaced in response bodies, in order, every occurrence, literally
 */
public record RewriteRule(
    List<HostPattern> hosts, List<String> paths, HeaderEdits request, HeaderEdits response, List<Replace> replace) {

  private static final Set<String> KEYS = Set.of("hosts", "paths", "request", "response");
  private static final Set<String> REQUEST_KEYS = Set.of("setHeaders", "removeHeaders");
  private static final Set<String> RESPONSE_KEYS = Set.of("setHeaders", "removeHeaders", "replace");
  private static final Set<String> REPLACE_KEYS = Set.of("find", "with");
  /**
   * Headers a rule may not set or remove: they frame the message or route it, and the forwarder
   * (or the body rewriting) owns them. Letting a rule touch them would desynchronise the stream.
   */
  private static final Set<String> RESERVED =
      Set.of("content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "host", "te", "trailer",
          "proxy-connection", "proxy-authorization", "proxy-authenticate");

  /**
   * Header changes.
   *
   * @param set names (lower case) and the values they are set to, replacing any present
   * @param remove names (lower case) removed
   */
  public record HeaderEdits(Map<String, String> set, List<String> remove) {
    public static final HeaderEdits NONE = new HeaderEdits(Map.of(), List.of());

    public HeaderEdits {
      set = java.util.Collections.unmodifiableMap(new TreeMap<>(set));
      remove = List.copyOf(remove);
    }

    public boolean isEmpty() {
      return set.isEmpty() && remove.isEmpty();
    }

    JsonObject toJson() {
      JsonObject o = new JsonObject();
      if (!set.isEmpty()) {
        o.put("setHeaders", new JsonObject(new java.util.LinkedHashMap<>(set)));
      }
      if (!remove.isEmpty()) {
        o.put("removeHeaders", new JsonArray(remove));
      }
      return o;
    }
  }

  /**
   * One text replacement in a response body.
   *
   * @param find the text looked for, literally (not empty)
   * @param with what each occurrence becomes (may be empty)
   */
  public record Replace(String find, String with) {
    public Replace {
      Objects.requireNonNull(with, "with");
      if (find == null || find.isEmpty()) {
        throw new IllegalArgumentException("find must not be empty");
      }
    }
  }

  public RewriteRule {
    hosts = List.copyOf(hosts);
    paths = List.copyOf(paths);
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(response, "response");
    replace = List.copyOf(replace);
  }

  /** Whether this rule applies to a request for {@code host} (as the client wrote it) at {@code pathAndQuery}. */
  public boolean matches(String host, String pathAndQuery) {
    return matches(Target.of(host), pathAndQuery);
  }

  private boolean matches(Target target, String pathAndQuery) {
    if (!hosts.isEmpty() && hosts.stream().noneMatch(h -> h.matches(target.name(), target.address()))) {
      return false;
    }
    if (paths.isEmpty()) {
      return true;
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    for (String p : paths) {
      boolean hit = p.endsWith("*") ? path.startsWith(p.substring(0, p.length() - 1)) : path.equals(p);
      if (hit) {
        return true;
      }
    }
    return false;
  }

  /**
   * The rules of {@code rules} that apply to a request for {@code host} at {@code pathAndQuery}, in
   * order; empty (and cheap) when there are none.
   */
  static List<RewriteRule> matching(List<RewriteRule> rules, String host, String pathAndQuery) {
    if (rules.isEmpty()) {
      return List.of();
    }
    Target target = Target.of(host);
    List<RewriteRule> out = new ArrayList<>(1);
    for (RewriteRule r : rules) {
      if (r.matches(target, pathAndQuery)) {
        out.add(r);
      }
    }
    return out;
  }

  JsonObject toJson() {
    JsonObject o = new JsonObject();
    if (!hosts.isEmpty()) {
      o.put("hosts", new JsonArray(hosts.stream().map(HostPattern::toString).toList()));
    }
    if (!paths.isEmpty()) {
      o.put("paths", new JsonArray(paths));
    }
    if (!request.isEmpty()) {
      o.put("request", request.toJson());
    }
    JsonObject resp = response.toJson();
    if (!replace.isEmpty()) {
      resp.put("replace", new JsonArray(replace.stream().map(r -> new JsonObject().put("find", r.find()).put("with", r.with())).toList()));
    }
    if (!resp.isEmpty()) {
      o.put("response", resp);
    }
    return o;
  }

  /** Reads the rule at {@code path} ({@code rewrite[i]}). */
  static RewriteRule read(Object value, String path) {
    JsonObject o = Json.object(value, path);
    Json.checkKeys(o, path, KEYS);
    List<HostPattern> hosts = Json.matcher(o, "hosts", path, (v, p) -> {
      try {
        return HostPattern.parse(Json.string(v, p));
      } catch (IllegalArgumentException e) {
        throw new PolicyException(p, e.getMessage());
      }
    });
    List<String> paths = Json.matcher(o, "paths", path, RewriteRule::pathPattern);
    JsonObject req = Json.section(o.getValue("request"), Json.at(path, "request"), REQUEST_KEYS);
    JsonObject resp = Json.section(o.getValue("response"), Json.at(path, "response"), RESPONSE_KEYS);
    HeaderEdits request = edits(req, Json.at(path, "request"));
    HeaderEdits response = edits(resp, Json.at(path, "response"));
    String replacePath = Json.at(Json.at(path, "response"), "replace");
    List<Replace> replace = Json.list(resp, "replace", Json.at(path, "response"), (v, p) -> replace(v, p));
    if (resp.getValue("replace") instanceof JsonArray a && a.isEmpty()) {
      throw new PolicyException(replacePath, "an empty list replaces nothing; leave the key out");
    }
    if (request.isEmpty() && response.isEmpty() && replace.isEmpty()) {
      throw new PolicyException(path, "a rewrite rule needs at least one change: request or response setHeaders/removeHeaders, or response replace");
    }
    return new RewriteRule(hosts, paths, request, response, replace);
  }

  private static String pathPattern(Object value, String path) {
    String p = Json.string(value, path);
    if (!p.startsWith("/")) {
      throw new PolicyException(path, "a path pattern starts with '/' (e.g. /api/*), got " + Json.describe(value));
    }
    int star = p.indexOf('*');
    if (star >= 0 && star != p.length() - 1) {
      throw new PolicyException(path, "'*' may only end a path pattern (a prefix), got " + Json.describe(value));
    }
    for (int i = 0; i < p.length(); i++) {
      char c = p.charAt(i);
      if (c <= ' ' || c >= 0x7f || c == '?' || c == '#') {
        throw new PolicyException(path, "write the path as sent (percent-encoded, without query), got " + Json.describe(value));
      }
    }
    return p;
  }

  private static HeaderEdits edits(JsonObject section, String path) {
    Map<String, String> set = new TreeMap<>();
    Object s = section.getValue("setHeaders");
    if (s != null) {
      String setPath = Json.at(path, "setHeaders");
      JsonObject headers = Json.object(s, setPath);
      for (String name : headers.fieldNames()) {
        String at = Json.at(setPath, name);
        String lower = headerName(name, at);
        if (set.put(lower, headerValue(headers.getValue(name), at)) != null) {
          throw new PolicyException(at, "set twice (header names are case-insensitive)");
        }
      }
    }
    List<String> remove = Json.list(section, "removeHeaders", path, (v, p) -> headerName(Json.string(v, p), p));
    for (String name : remove) {
      if (set.containsKey(name)) {
        throw new PolicyException(Json.at(path, "removeHeaders"), "'" + name + "' is both set and removed");
      }
    }
    return new HeaderEdits(set, remove);
  }

  private static String headerName(String name, String path) {
    if (name.isEmpty()) {
      throw new PolicyException(path, "empty header name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!token) {
        throw new PolicyException(path, "'" + c + "' is not allowed in a header name, got " + Json.describe(name));
      }
    }
    String lower = name.toLowerCase(Locale.ROOT);
    if (RESERVED.contains(lower)) {
      throw new PolicyException(path, "'" + lower + "' frames or routes the message and cannot be rewritten");
    }
    return lower;
  }

  private static String headerValue(Object value, String path) {
    String v = Json.string(value, path);
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if ((c < ' ' && c != '\t') || c == 0x7f || c > 0xff) {
        throw new PolicyException(path, "header values are visible Latin-1 text without control characters");
      }
    }
    return v;
  }

  private static Replace replace(Object value, String path) {
    JsonObject o = Json.object(value, path);
    Json.checkKeys(o, path, REPLACE_KEYS);
    Object find = o.getValue("find");
    if (find == null) {
      throw new PolicyException(Json.at(path, "find"), "required: the text to look for");
    }
    String f = Json.string(find, Json.at(path, "find"));
    if (f.isEmpty()) {
      throw new PolicyException(Json.at(path, "find"), "must not be empty");
    }
    Object with = o.getValue("with");
    if (with == null) {
      throw new PolicyException(Json.at(path, "with"), "required: the replacement text (\"\" deletes)");
    }
    return new Replace(f, Json.string(with, Json.at(path, "with")));
  }
}
