package dev.tollgate.tunnel.impl;

import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes hop-by-hop headers (RFC 9110 §7.6.1) when a message crosses the proxy. Runs twice per
 * forwarded request, so names are compared ignoring case in place rather than lower-cased into
 * new strings.
 */
public final class HopByHop {
  private HopByHop() {}

  /** Whether {@code name} is hop-by-hop by definition, whatever its case. */
  static boolean always(String name) {
    return switch (name.length()) {
      case 2 -> name.equalsIgnoreCase("te");
      case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
      case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 16 -> name.equalsIgnoreCase("proxy-connection");
      case 17 -> name.equalsIgnoreCase("transfer-encoding");
      case 18 -> name.equalsIgnoreCase("proxy-authenticate");
      case 19 -> name.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers, nor the headers named in
   * {@code Connection}, nor those in {@code alsoDrop} (lower case).
   *
   * @param keepUpgrade keep {@code Upgrade} and {@code Connection: upgrade} (a protocol switch)
   */
  public static void copy(MultiMap from, MultiMap to, boolean keepUpgrade, Set<String> alsoDrop) {
    List<String> listed = listed(from);
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (keepUpgrade && name.equalsIgnoreCase("upgrade")) {
        to.add(name, e.getValue());
        continue;
      }
      if (always(name) || contains(listed, name) || (!alsoDrop.isEmpty() && contains(alsoDrop, name))) {
        continue;
      }
      to.add(name, e.getValue());
    }
    if (keepUpgrade) {
      to.set("connection", "upgrade");
    }
  }

  /**
   * Removes hop-by-hop headers, and those named in {@code Connection}, from {@code headers} in
   * place (a message passed on as it came, without a copy).
   */
  public static void strip(MultiMap headers) {
    List<String> listed = listed(headers);
    List<String> drop = null;
    for (Map.Entry<String, String> e : headers) {
      String name = e.getKey();
      if (always(name) || contains(listed, name)) {
        if (drop == null) {
          drop = new ArrayList<>(4);
        }
        drop.add(name);
      }
    }
    if (drop != null) {
      drop.forEach(headers::remove);
    }
  }

  /** The header names {@code Connection} lists, or an empty list (most messages list none but hop-by-hop ones). */
  private static List<String> listed(MultiMap from) {
    List<String> listed = List.of();
    if (!from.contains("connection")) {
      return listed;
    }
    for (String value : from.getAll("connection")) {
      for (String token : value.split(",")) {
        String t = token.trim();
        if (!t.isEmpty() && !always(t)) {
          if (listed.isEmpty()) {
            listed = new ArrayList<>(2);
          }
          listed.add(t);
        }
      }
    }
    return listed;
  }

  private static boolean contains(Iterable<String> names, String name) {
    for (String n : names) {
      if (n.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the request asks to switch protocols (e.g. a WebSocket handshake). */
  public static boolean isUpgrade(MultiMap headers) {
    if (!headers.contains("upgrade")) {
      return false;
    }
    for (String value : headers.getAll("connection")) {
      for (String token : value.split(",")) {
        if (token.trim().equalsIgnoreCase("upgrade")) {
          return true;
        }
      }
    }
    return false;
  }
}
