package dev.tollgate.common.policy;

import dev.tollgate.common.Cidr;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One version of the proxy's policy: who may use it, which rules decide requests, the networks
 * exempt from the private-address refusal, per-user limits, quotas, timeouts and rewrite rules. Immutable; built by
 * {@link #fromJson}, which validates everything and names the bad value's path, and turned back
 * into its document by {@link #toJson}. Decisions are made by {@link PolicyEngine#decide}.
 *
 * <p>Equality is semantic: two policies are equal when their parsed contents are, however the
 * documents were written ({@code 0x7f000001} and {@code 127.0.0.1}, {@code 60s} and {@code 1m}).
 */
public final class Policy {

  private static final Policy EMPTY =
      new Policy(0, Auth.none(), List.of(), Action.ALLOW, List.of(), PolicyLimits.NONE, PolicyTimeouts.NONE, false, PolicyQuotas.NONE, List.of());

  private final int version;
  private final Auth auth;
  private final List<Rule> rules;
  private final Action defaultAction;
  private final List<Cidr> allowPrivate;
  private final PolicyLimits limits;
  private final PolicyTimeouts timeouts;
  private final boolean enforceOnOpenTunnels;
  private final PolicyQuotas quotas;
  private final boolean anyQuota;
  private final List<RewriteRule> rewrite;
  /** Derived when read, so that decisions and limit look-ups do not walk the document. */
  private final RuleIndex index;
  private final Map<String, List<String>> groupsByUser;
  private final Decision[] decisions;

  Policy(
      int version,
      Auth auth,
      List<Rule> rules,
      Action defaultAction,
      List<Cidr> allowPrivate,
      PolicyLimits limits,
      PolicyTimeouts timeouts,
      boolean enforceOnOpenTunnels,
      PolicyQuotas quotas,
      List<RewriteRule> rewrite) {
    this(version, auth, List.copyOf(rules), defaultAction, allowPrivate, limits, timeouts, enforceOnOpenTunnels, quotas, rewrite, null, null);
  }

  private Policy(
      int version,
      Auth auth,
      List<Rule> rules,
      Action defaultAction,
      List<Cidr> allowPrivate,
      PolicyLimits limits,
      PolicyTimeouts timeouts,
      boolean enforceOnOpenTunnels,
      PolicyQuotas quotas,
      List<RewriteRule> rewrite,
      RuleIndex index,
      Map<String, List<String>> groupsByUser) {
    if (version < 0) {
      throw new IllegalArgumentException("version must be 0 or more, got " + version);
    }
    this.version = version;
    this.auth = Objects.requireNonNull(auth, "auth");
    this.rules = rules;
    this.defaultAction = Objects.requireNonNull(defaultAction, "defaultAction");
    this.allowPrivate = List.copyOf(allowPrivate);
    this.limits = Objects.requireNonNull(limits, "limits");
    this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
    this.enforceOnOpenTunnels = enforceOnOpenTunnels;
    this.quotas = Objects.requireNonNull(quotas, "quotas");
    this.anyQuota = quotas.any();
    this.rewrite = List.copyOf(rewrite);
    this.index = index != null ? index : new RuleIndex(rules, auth.groups());
    this.groupsByUser = groupsByUser != null ? groupsByUser : groupsByUser(auth);
    this.decisions = PolicyEngine.decisions(rules, defaultAction);
  }

  /** Version 0: no authentication, no rules, everything allowed, no limits, the node's timeouts. */
  public static Policy empty() {
    return EMPTY;
  }

  /**
   * Reads and validates a policy document.
   *
   * @throws PolicyException naming the path of the first bad value
   */
  public static Policy fromJson(JsonObject json) {
    return PolicyReader.read(json);
  }

  /** The document form, with every section written; {@code fromJson(toJson())} equals this policy. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("version", version)
        .put("auth", auth.toJson())
        .put("rules", new JsonArray(rules.stream().map(Rule::toJson).toList()))
        .put("default", defaultAction.json())
        .put("network", new JsonObject().put("allowPrivate", new JsonArray(allowPrivate.stream().map(Cidr::toString).toList())))
        .put("limits", limits.toJson())
        .put("timeouts", timeouts.toJson())
        .put("enforceOnOpenTunnels", enforceOnOpenTunnels)
        .put("quotas", quotas.toJson())
        .put("rewrite", new JsonArray(rewrite.stream().map(RewriteRule::toJson).toList()));
  }

  /**
   * This policy with the users read from its {@code auth.htpasswd} file (the node reads the file;
   * the document keeps naming the file). Each hash is checked as inline users are.
   */
  public Policy withHtpasswdUsers(Map<String, String> users) {
    Auth withUsers = new Auth(auth.required(), auth.realm(), users, auth.htpasswd(), auth.groups(), auth.certificateUsers());
    return new Policy(
        version, withUsers, rules, defaultAction, allowPrivate, limits, timeouts, enforceOnOpenTunnels, quotas, rewrite, index, groupsByUser);
  }

  /** This policy as version {@code version} (the store numbers what it accepts). */
  public Policy withVersion(int version) {
    return new Policy(
        version, auth, rules, defaultAction, allowPrivate, limits, timeouts, enforceOnOpenTunnels, quotas, rewrite, index, groupsByUser);
  }

  /**
   * The effective limits of {@code user} ({@code null}: an unauthenticated client): the defaults,
   * then the overrides of the user's groups, where the most generous value wins field by field when
   * several groups set it, then the user's own override. See {@link PolicyLimits#resolve}.
   */
  public Limits limitsFor(String user) {
    return limits.resolve(user, groupsOf(user));
  }

  /**
   * The quota of {@code user} ({@code null}: unauthenticated clients, who share one allowance),
   * resolved as {@link #limitsFor} resolves limits; every field set, 0 meaning unlimited.
   */
  public Quota quotaFor(String user) {
    return anyQuota ? quotas.resolve(user, groupsOf(user)) : Quota.UNLIMITED;
  }

  /** The {@code quotas} section. */
  public PolicyQuotas quotas() {
    return quotas;
  }

  /** The groups {@code user} belongs to, in document order; empty for {@code null} or a user in none. */
  public List<String> groupsOf(String user) {
    return user == null ? List.of() : groupsByUser.getOrDefault(user, List.of());
  }

  /** The version the policy store gave this policy; 0 before it was stored. */
  public int version() {
    return version;
  }

  public Auth auth() {
    return auth;
  }

  /** The rules in document order: the first that matches decides. */
  public List<Rule> rules() {
    return rules;
  }

  /** What happens to a request no rule matches: {@link Action#ALLOW} or {@link Action#DENY}. */
  public Action defaultAction() {
    return defaultAction;
  }

  /** {@code network.allowPrivate}: networks exempt from the private-address refusal. */
  public List<Cidr> allowPrivate() {
    return allowPrivate;
  }

  public PolicyLimits limits() {
    return limits;
  }

  /** Timeouts replacing the node's; fields not set are {@code null}. */
  public PolicyTimeouts timeouts() {
    return timeouts;
  }

  /** Whether a new policy is applied to tunnels already open (closing those it now denies). */
  public boolean enforceOnOpenTunnels() {
    return enforceOnOpenTunnels;
  }

  /** The {@code rewrite} rules in document order. */
  public List<RewriteRule> rewrite() {
    return rewrite;
  }

  /**
   * The rewrite rules that apply to a request for {@code host} (as the client wrote it) at
   * {@code pathAndQuery}, in document order; empty when none does (cheaply when there are none).
   */
  public List<RewriteRule> rewritesFor(String host, String pathAndQuery) {
    return RewriteRule.matching(rewrite, host, pathAndQuery);
  }

  /** The index of the first rule matching {@code request} for {@code target}, or -1. */
  int firstMatch(PolicyRequest request, Target target) {
    return index.firstMatch(request, target);
  }

  /** The decision of rule {@code i} (-1: the default) for a CONNECT or a request to forward. */
  Decision decision(int i, boolean connect) {
    return decisions[2 * (i < 0 ? rules.size() : i) + (connect ? 1 : 0)];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Policy p
        && version == p.version
        && enforceOnOpenTunnels == p.enforceOnOpenTunnels
        && defaultAction == p.defaultAction
        && auth.equals(p.auth)
        && rules.equals(p.rules)
        && allowPrivate.equals(p.allowPrivate)
        && limits.equals(p.limits)
        && timeouts.equals(p.timeouts)
        && quotas.equals(p.quotas)
        && rewrite.equals(p.rewrite);
  }

  @Override
  public int hashCode() {
    return Objects.hash(version, auth, rules, defaultAction, allowPrivate, limits, timeouts, enforceOnOpenTunnels, quotas, rewrite);
  }

  /** A short summary for logs; {@link #toJson} gives the whole document. */
  @Override
  public String toString() {
    return "Policy[version=" + version + ", rules=" + rules.size() + ", default=" + defaultAction.json()
        + ", authRequired=" + auth.required() + "]";
  }

  private static Map<String, List<String>> groupsByUser(Auth auth) {
    Map<String, List<String>> out = new HashMap<>();
    auth.groups().values().stream().flatMap(List::stream).distinct().forEach(u -> out.put(u, List.copyOf(auth.groupsOf(u))));
    return Map.copyOf(out);
  }
}
