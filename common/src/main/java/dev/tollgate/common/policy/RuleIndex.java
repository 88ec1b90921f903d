package dev.tollgate.common.policy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the first rule matching a request without trying every rule.
 *
 * <p>Rules are filed by their host patterns when the policy is read: exact names in one hash map,
 * {@code *.suffix} patterns in another (keyed by the suffix), rules with IP/CIDR hosts in a list
 * looked at only for address targets, and rules without hosts in a list looked at always. Each
 * bucket holds rule indexes in ascending order, so the first rule of a bucket whose other matchers
 * pass is that bucket's answer, and the answer is the lowest over the buckets. A name target costs
 * one exact look-up plus at most one suffix look-up per label, whatever the number of rules.
 */
final class RuleIndex {

  private static final int NONE = Integer.MAX_VALUE;

  /** A rule with its matchers as sets, ready to test. Null sets mean "no such matcher". */
  private record Compiled(Rule rule, Set<String> users, Set<String> members, Set<String> methods, Set<String> listeners) {

    boolean matchesAllButHost(PolicyRequest r) {
      return (listeners == null ? r.listener() == null : r.listener() != null && listeners.contains(r.listener()))
          && (methods == null || methods.contains(r.method()))
          && rule.matchesPort(r.port())
          && (users == null || (r.user() != null && users.contains(r.user())))
          && (members == null || (r.user() != null && members.contains(r.user())))
          && rule.matchesClient(r.client());
    }

    boolean matchesAddress(InetAddress address) {
      for (HostPattern p : rule.hosts()) {
        if (p.kind() == HostPattern.Kind.NETWORK && p.matches(null, address)) {
          return true;
        }
      }
      return false;
    }
  }

  private final Compiled[] rules;
  /**
   * Rules with no matcher but hosts: a bucket hit of a proxy request decides without touching the
   * rule itself, which keeps a hit to a few cache lines even with many thousands of rules.
   */
  private final boolean[] hostOnly;
  private final Map<String, int[]> exact;
  private final Map<String, int[]> suffix;
  private final int[] anyHost;
  private final int[] networks;
  /** The fewest and most labels of any suffix key: longer or shorter suffixes need no look-up. */
  private final int minSuffixLabels;
  private final int maxSuffixLabels;

  RuleIndex(List<Rule> rules, Map<String, List<String>> groups) {
    this.rules = new Compiled[rules.size()];
    this.hostOnly = new boolean[rules.size()];
    Map<String, List<Integer>> exactLists = new HashMap<>();
    Map<String, List<Integer>> suffixLists = new HashMap<>();
    List<Integer> anyHostList = new ArrayList<>();
    List<Integer> networkList = new ArrayList<>();
    for (int i = 0; i < rules.size(); i++) {
      Rule rule = rules.get(i);
      this.rules[i] = compile(rule, groups);
      hostOnly[i] =
          rule.ports().isEmpty()
              && rule.users().isEmpty()
              && rule.groups().isEmpty()
              && rule.methods().isEmpty()
              && rule.listeners().isEmpty()
              && rule.clients().isEmpty();
      if (rule.hosts().isEmpty()) {
        anyHostList.add(i);
      }
      for (HostPattern p : rule.hosts()) {
        List<Integer> bucket = switch (p.kind()) {
          case EXACT -> exactLists.computeIfAbsent(p.name(), k -> new ArrayList<>());
          case SUFFIX -> suffixLists.computeIfAbsent(p.name(), k -> new ArrayList<>());
          case NETWORK -> networkList;
        };
        // Indexes rise as rules are read; a rule listing two patterns of one bucket is filed once.
        if (bucket.isEmpty() || bucket.get(bucket.size() - 1) != i) {
          bucket.add(i);
        }
      }
    }
    this.exact = frozen(exactLists);
    this.suffix = frozen(suffixLists);
    this.anyHost = ints(anyHostList);
    this.networks = ints(networkList);
    this.minSuffixLabels = suffixLists.keySet().stream().mapToInt(RuleIndex::labels).min().orElse(0);
    this.maxSuffixLabels = suffixLists.keySet().stream().mapToInt(RuleIndex::labels).max().orElse(0);
  }

  /** The index of the first rule matching {@code request} for {@code target}, or -1. */
  int firstMatch(PolicyRequest request, Target target) {
    int best = scan(anyHost, NONE, request, null);
    if (target.address() != null) {
      best = scan(networks, best, request, target.address());
    } else {
      String name = target.name();
      int[] bucket = exact.get(name);
      if (bucket != null) {
        best = scan(bucket, best, request, null);
      }
      if (!suffix.isEmpty()) {
        best = scanSuffixes(name, best, request);
      }
    }
    return best == NONE ? -1 : best;
  }

  /**
   * Looks up every proper suffix of {@code name} at a label boundary (a.b.c → b.c → c, never
   * a.b.c itself) that has as many labels as some suffix key.
   */
  private int scanSuffixes(String name, int best, PolicyRequest request) {
    int labels = labels(name);
    int label = 1; // the suffix after the first dot starts at the second label
    for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1), label++) {
      int remaining = labels - label;
      if (remaining < minSuffixLabels) {
        break;
      }
      if (remaining <= maxSuffixLabels) {
        int[] bucket = suffix.get(name.substring(dot + 1));
        if (bucket != null) {
          best = scan(bucket, best, request, null);
        }
      }
    }
    return best;
  }

  private static int labels(String name) {
    int n = 1;
    for (int i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
      n++;
    }
    return n;
  }

  /**
   * The lowest index below {@code best} in {@code bucket} whose rule matches, else {@code best}.
   * With a non-null {@code address} the rule's networks must hold it; otherwise the bucket already
   * stands for a host match.
   */
  private int scan(int[] bucket, int best, PolicyRequest request, InetAddress address) {
    for (int i : bucket) {
      if (i >= best) {
        return best;
      }
      if (address == null && hostOnly[i] && request.listener() == null) {
        return i;
      }
      Compiled c = rules[i];
      if (c.matchesAllButHost(request) && (address == null || c.matchesAddress(address))) {
        return i;
      }
    }
    return best;
  }

  private static Compiled compile(Rule rule, Map<String, List<String>> groups) {
    Set<String> members = null;
    if (!rule.groups().isEmpty()) {
      members = new HashSet<>();
      for (String g : rule.groups()) {
        members.addAll(groups.getOrDefault(g, List.of()));
      }
    }
    return new Compiled(rule, setOrNull(rule.users()), members, setOrNull(rule.methods()), setOrNull(rule.listeners()));
  }

  private static Set<String> setOrNull(List<String> list) {
    return list.isEmpty() ? null : Set.copyOf(list);
  }

  private static Map<String, int[]> frozen(Map<String, List<Integer>> lists) {
    Map<String, int[]> out = new HashMap<>(lists.size() * 2);
    lists.forEach((k, v) -> out.put(k, ints(v)));
    return out;
  }

  private static int[] ints(List<Integer> list) {
    return list.stream().mapToInt(Integer::intValue).toArray();
  }
}
