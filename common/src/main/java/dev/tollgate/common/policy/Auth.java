package dev.tollgate.common.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who may use the proxy: the {@code auth} section of a policy.
 *
 * <p>Passwords are only ever stored as bcrypt hashes ({@code $2a$}, {@code $2b$}, {@code $2y$}); a
 * plain-text password is refused when the policy is read, and the refusal never repeats the value.
 *
 * @param required whether every request must carry verified credentials (407 otherwise)
 * @param realm the realm of the {@code Proxy-Authenticate: Basic} challenge
 * @param users user name → bcrypt hash, in document order; empty when users come from {@code htpasswd}
 * @param htpasswd path of an htpasswd file holding the users instead, or {@code null}; kept as
 *     written, read elsewhere
 * @param groups group name → member user names, in document order
 * @param certificateUsers names of users who come from verified client certificates (a tunnel
 *     service counts its clients as {@link ClientCertificate#userName}) rather than from a login:
 *     they may be named in groups, limits and quotas, and can never log in with a password
 */
public record Auth(
    boolean required, String realm, Map<String, String> users, String htpasswd, Map<String, List<String>> groups, List<String> certificateUsers) {

  public static final String DEFAULT_REALM = "Tollgate";
  /** Where an unknown user name in a policy should have been listed, for its error message. */
  static final String USERS_LISTED = "users are listed in auth.users or auth.certificateUsers";
  /** The same for an unknown group name. */
  static final String GROUPS_LISTED = "groups are listed in auth.groups";

  private static final Set<String> KEYS = Set.of("required", "realm", "users", "htpasswd", "groups", "certificateUsers");
  private static final Pattern BCRYPT = Pattern.compile("^\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}$");
  /** The realm goes into a quoted header value: no quotes, backslashes or control characters. */
  private static final Pattern REALM = Pattern.compile("[\\x20-\\x7e&&[^\"\\\\]]{1,64}");

  /**
   * @throws PolicyException at {@code auth.users.NAME} when a value is not a bcrypt hash
   */
  public Auth {
    Objects.requireNonNull(realm, "realm");
    users = Collections.unmodifiableMap(new LinkedHashMap<>(users));
    Map<String, List<String>> g = new LinkedHashMap<>();
    groups.forEach((name, members) -> g.put(name, List.copyOf(members)));
    groups = Collections.unmodifiableMap(g);
    certificateUsers = List.copyOf(certificateUsers);
    users.forEach(Auth::checkHash);
  }

  /** Without certificate users. */
  public Auth(boolean required, String realm, Map<String, String> users, String htpasswd, Map<String, List<String>> groups) {
    this(required, realm, users, htpasswd, groups, List.of());
  }

  /** No authentication: no users, no groups. */
  public static Auth none() {
    return new Auth(false, DEFAULT_REALM, Map.of(), null, Map.of(), List.of());
  }

  /**
   * Whether {@code name} may be a user: listed in {@link #users()} or {@link #certificateUsers()},
   * or, with an htpasswd file (not read here), any name, since the file is the authority.
   */
  public boolean mayBeUser(String name) {
    return htpasswd != null || users.containsKey(name) || certificateUsers.contains(name);
  }

  /** The groups {@code user} is a member of, in document order; empty for {@code null}. */
  public List<String> groupsOf(String user) {
    List<String> out = new ArrayList<>();
    groups.forEach((group, members) -> {
      if (user != null && members.contains(user)) {
        out.add(group);
      }
    });
    return out;
  }

  /** The document form. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject().put("required", required).put("realm", realm);
    if (!users.isEmpty() && htpasswd == null) { // users read from an htpasswd file stay in the file
      o.put("users", new JsonObject(new LinkedHashMap<String, Object>(users)));
    }
    if (htpasswd != null) {
      o.put("htpasswd", htpasswd);
    }
    if (!groups.isEmpty()) {
      JsonObject g = new JsonObject();
      groups.forEach((name, members) -> g.put(name, new JsonArray(members)));
      o.put("groups", g);
    }
    if (!certificateUsers.isEmpty()) {
      o.put("certificateUsers", new JsonArray(certificateUsers));
    }
    return o;
  }

  /** Names the users and groups; leaves the hashes out of logs. */
  @Override
  public String toString() {
    return "Auth[required=" + required + ", realm=" + realm + ", users=" + users.keySet()
        + ", htpasswd=" + htpasswd + ", groups=" + groups + ", certificateUsers=" + certificateUsers + "]";
  }

  /** Reads the {@code auth} section ({@code null} when absent). */
  static Auth read(Object value) {
    JsonObject o = Json.section(value, "auth", KEYS);
    boolean required = Json.bool(o.getValue("required"), "auth.required", false);
    String realm = DEFAULT_REALM;
    if (o.getValue("realm") != null) {
      realm = Json.string(o.getValue("realm"), "auth.realm");
      if (!REALM.matcher(realm).matches()) {
        throw new PolicyException("auth.realm", "use 1-64 printable characters without quotes or backslashes");
      }
    }
    Map<String, String> users = new LinkedHashMap<>();
    JsonObject u = o.getValue("users") == null ? new JsonObject() : Json.object(o.getValue("users"), "auth.users");
    for (String name : u.fieldNames()) {
      checkUserName(name, "auth.users." + name);
      Object hash = u.getValue(name);
      // A non-string fails the bcrypt check below like a plain-text password: neither is echoed.
      users.put(name, hash instanceof String s ? s : "");
    }
    String htpasswd = null;
    if (o.getValue("htpasswd") != null) {
      htpasswd = Json.string(o.getValue("htpasswd"), "auth.htpasswd");
      if (htpasswd.isBlank()) {
        throw new PolicyException("auth.htpasswd", "empty path");
      }
      if (!users.isEmpty()) {
        throw new PolicyException("auth.htpasswd", "give users either inline (auth.users) or in an htpasswd file, not both");
      }
    }
    List<String> certificateUsers = readCertificateUsers(o);
    Auth auth = new Auth(required, realm, users, htpasswd, Map.of(), certificateUsers);
    Map<String, List<String>> groups = readGroups(o.getValue("groups"), auth);
    if (required && users.isEmpty() && htpasswd == null) {
      throw new PolicyException("auth.required", "no one could log in: list auth.users or give auth.htpasswd");
    }
    return new Auth(required, realm, users, htpasswd, groups, certificateUsers);
  }

  private static Map<String, List<String>> readGroups(Object value, Auth auth) {
    Map<String, List<String>> groups = new LinkedHashMap<>();
    if (value == null) {
      return groups;
    }
    JsonObject g = Json.object(value, "auth.groups");
    for (String name : g.fieldNames()) {
      String path = "auth.groups." + name;
      if (name.isBlank()) {
        throw new PolicyException(path, "empty group name");
      }
      List<String> members = Json.list(g, name, "auth.groups", (v, p) -> {
        String member = Json.string(v, p);
        if (!auth.mayBeUser(member)) {
          throw new PolicyException(p, "unknown user " + Json.describe(member) + "; " + USERS_LISTED);
        }
        return member;
      });
      groups.put(name, members);
    }
    return groups;
  }

  /**
   * A certificate's user name is its CN (or its whole subject): any printable text, spaces and
   * commas included, up to 256 characters; each listed once.
   */
  private static List<String> readCertificateUsers(JsonObject o) {
    List<String> names = Json.list(o, "certificateUsers", "auth", (v, p) -> {
      String name = Json.string(v, p);
      if (name.isEmpty() || name.length() > 256 || !name.chars().allMatch(c -> c >= 0x20 && c != 0x7f)) {
        throw new PolicyException(p, "use 1-256 printable characters (a certificate's CN, or its subject when it has none)");
      }
      return name;
    });
    for (int i = 0; i < names.size(); i++) {
      if (names.indexOf(names.get(i)) != i) {
        throw new PolicyException("auth.certificateUsers[" + i + "]", Json.describe(names.get(i)) + " is listed twice");
      }
    }
    return names;
  }

  private static void checkUserName(String name, String path) {
    // Basic credentials split at the first colon: a name holding one could never log in.
    if (name.isEmpty() || name.length() > 128 || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ':')) {
      throw new PolicyException(path, "use 1-128 printable characters without spaces or ':' in a user name");
    }
  }

  private static void checkHash(String name, String hash) {
    if (hash == null || !BCRYPT.matcher(hash).matches()) {
      throw new PolicyException(
          "auth.users." + name,
          "expected a bcrypt hash ($2a$, $2b$ or $2y$); plain-text passwords are refused"
              + " (make one with ./tollgate hash-password)");
    }
  }
}
