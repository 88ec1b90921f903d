package dev.tollgate.tunnel.impl;

import io.vertx.core.MultiMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Removes hop-by-hop headers (RFC 9110 §7.6.1) when a message crosses the proxy. */
public final class HopByHop {
  private static final Set<String> ALWAYS =
      Set.of(
          "connection",
          "proxy-connection",
          "keep-alive",
          "proxy-authorization",
          "proxy-authenticate",
          "te",
          "trailer",
          "transfer-encoding",
          "upgrade");

  private HopByHop() {}

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers, nor the headers named in
   * {@code Connection}, nor those in {@code alsoDrop} (lower case).
   *
   * @param keepUpgrade keep {@code Upgrade} and {@code Connection: upgrade} (a protocol switch)
   */
  public static void copy(MultiMap from, MultiMap to, boolean keepUpgrade, Set<String> alsoDrop) {
    Set<String> listed = new HashSet<>();
    for (String value : from.getAll("connection")) {
      for (String token : value.split(",")) {
        String t = token.trim().toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          listed.add(t);
        }
      }
    }
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (keepUpgrade && name.equals("upgrade")) {
        to.add(e.getKey(), e.getValue());
        continue;
      }
      if (ALWAYS.contains(name) || listed.contains(name) || alsoDrop.contains(name)) {
        continue;
      }
      to.add(e.getKey(), e.getValue());
    }
    if (keepUpgrade) {
      to.set("connection", "upgrade");
    }
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
