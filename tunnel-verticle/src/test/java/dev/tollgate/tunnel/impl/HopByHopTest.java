package dev.tollgate.tunnel.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HopByHopTest {
  @Test
  void hopByHopNamesAreKnownWhateverTheirCase() {
    for (String n : List.of("Connection", "PROXY-CONNECTION", "keep-alive", "Proxy-Authorization", "proxy-authenticate", "TE", "Trailer", "Transfer-Encoding", "Upgrade")) {
      assertTrue(HopByHop.always(n), n);
    }
    for (String n : List.of("Host", "te2", "Trailers", "Content-Length", "upgrade-insecure-requests", "")) {
      assertFalse(HopByHop.always(n), n);
    }
  }

  @Test
  void copyDropsHopByHopListedAndExtraNamesAndKeepsTheRestInOrder() {
    MultiMap from = HttpHeaders.headers()
        .add("Host", "example.test")
        .add("Connection", "keep-alive, X-Secret , close")
        .add("connection", "Other")
        .add("Keep-Alive", "timeout=5")
        .add("x-secret", "1")
        .add("OTHER", "2")
        .add("Expect", "100-continue")
        .add("Accept", "a")
        .add("accept", "b")
        .add("Transfer-Encoding", "chunked");
    MultiMap to = HttpHeaders.headers();
    HopByHop.copy(from, to, false, Set.of("expect"));
    assertEquals(List.of("Host=example.test", "Accept=a", "accept=b"), to.entries().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
  }

  @Test
  void copyKeepsAnUpgradeWhenAsked() {
    MultiMap from = HttpHeaders.headers().add("Upgrade", "websocket").add("Connection", "Upgrade").add("Sec-WebSocket-Key", "k");
    assertTrue(HopByHop.isUpgrade(from));
    MultiMap to = HttpHeaders.headers();
    HopByHop.copy(from, to, true, Set.of());
    assertEquals("websocket", to.get("upgrade"));
    assertEquals("upgrade", to.get("connection"));
    assertEquals("k", to.get("sec-websocket-key"));
    MultiMap dropped = HttpHeaders.headers();
    HopByHop.copy(from, dropped, false, Set.of());
    assertEquals(List.of("Sec-WebSocket-Key"), List.copyOf(dropped.names()));
  }
}
