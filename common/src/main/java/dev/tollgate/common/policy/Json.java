package dev.tollgate.common.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

/** Typed reads from the policy document; every failure is a {@link PolicyException} naming the path. */
final class Json {

  private Json() {}

  /** The path of {@code key} inside the value at {@code parent}. */
  static String at(String parent, String key) {
    return parent.isEmpty() ? key : parent + "." + key;
  }

  /** The path of item {@code i} of the list at {@code parent}. */
  static String at(String parent, int i) {
    return parent + "[" + i + "]";
  }

  /** Refuses keys of {@code o} that are not {@code known}: a typo must not silently drop a setting. */
  static void checkKeys(JsonObject o, String path, Set<String> known) {
    for (String k : o.fieldNames()) {
      if (!known.contains(k)) {
        throw new PolicyException(at(path, k), "unknown key; expected one of " + new TreeSet<>(known));
      }
    }
  }

  /** The section {@code value} at {@code path}, checked for unknown keys; empty when absent. */
  static JsonObject section(Object value, String path, Set<String> known) {
    if (value == null) {
      return new JsonObject();
    }
    JsonObject o = object(value, path);
    checkKeys(o, path, known);
    return o;
  }

  static JsonObject object(Object value, String path) {
    if (!(value instanceof JsonObject o)) {
      throw new PolicyException(path, "expected an object, got " + describe(value));
    }
    return o;
  }

  static String string(Object value, String path) {
    if (!(value instanceof String s)) {
      throw new PolicyException(path, "expected a string, got " + describe(value));
    }
    return s;
  }

  static boolean bool(Object value, String path, boolean fallback) {
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof Boolean b)) {
      throw new PolicyException(path, "expected true or false, got " + describe(value));
    }
    return b;
  }

  /** A whole number in {@code [min, max]}. */
  static long whole(Object value, String path, long min, long max) {
    if (value instanceof Number n) {
      double d = n.doubleValue();
      long l = n.longValue();
      if (d == Math.rint(d) && !Double.isInfinite(d)) {
        // Compare both forms: the double catches huge BigIntegers whose long value wrapped.
        if (d < min || d > max || l < min || l > max) {
          throw new PolicyException(path, "must be between " + min + " and " + max + ", got " + value);
        }
        return l;
      }
    }
    throw new PolicyException(path, "expected a whole number, got " + describe(value));
  }

  /** The items of the list {@code parent.key}, each read by {@code item(value, itemPath)}; empty when absent. */
  static <T> List<T> list(JsonObject parent, String key, String path, BiFunction<Object, String, T> item) {
    return list(parent, key, path, item, false);
  }

  /**
   * Like {@link #list} for a rule's matcher, where an empty list is refused: it would match
   * nothing, which is never what is meant, while leaving the key out matches anything.
   */
  static <T> List<T> matcher(JsonObject parent, String key, String path, BiFunction<Object, String, T> item) {
    return list(parent, key, path, item, true);
  }

  private static <T> List<T> list(
      JsonObject parent, String key, String path, BiFunction<Object, String, T> item, boolean refuseEmpty) {
    Object value = parent.getValue(key);
    String p = at(path, key);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray a)) {
      throw new PolicyException(p, "expected a list, got " + describe(value));
    }
    if (refuseEmpty && a.isEmpty()) {
      throw new PolicyException(p, "an empty list matches nothing; leave the key out to match anything");
    }
    List<T> out = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) {
      out.add(item.apply(a.getValue(i), at(p, i)));
    }
    return out;
  }

  /**
   * The per-user or per-group overrides under {@code path} ({@code {"name": {...}}}), each read by
   * {@code item(object, itemPath)}; a name {@code known} refuses is an error saying {@code unknown}.
   */
  static <T> java.util.Map<String, T> named(
      Object value, String path, java.util.function.Predicate<String> known, String unknown, BiFunction<JsonObject, String, T> item) {
    java.util.Map<String, T> out = new java.util.LinkedHashMap<>();
    if (value == null) {
      return out;
    }
    JsonObject o = object(value, path);
    for (String name : o.fieldNames()) {
      String p = at(path, name);
      if (!known.test(name)) {
        throw new PolicyException(p, unknown);
      }
      out.put(name, item.apply(object(o.getValue(name), p), p));
    }
    return out;
  }

  /** A short description of a bad value for messages; long values are cut. */
  static String describe(Object value) {
    if (value == null) {
      return "nothing";
    }
    String s = value instanceof String ? "'" + value + "'" : String.valueOf(value);
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
