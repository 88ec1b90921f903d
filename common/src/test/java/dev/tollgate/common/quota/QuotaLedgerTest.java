package dev.tollgate.common.quota;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.policy.Quota;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The ledger's arithmetic, on a clock the test moves: no sockets, no cluster. */
class QuotaLedgerTest {
  private final AtomicLong clock = new AtomicLong(Instant.parse("2026-11-29T23:59:58Z").toEpochMilli());
  private final QuotaLedger ledger = new QuotaLedger(clock::get);

  private static Quota requestsPerDay(long n) {
    return new Quota(0L, 0L, n, 0L, 0L);
  }

  @Test
  void requestsAreCountedWhenAllowedAndRefusedAtTheLimitWithRetryAfterToMidnight() {
    Quota q = requestsPerDay(2);
    assertNull(ledger.check("alice", q, true));
    assertNull(ledger.check("alice", q, true));
    Denial d = ledger.check("alice", q, true);
    assertNotNull(d);
    assertEquals("requests.perDay", d.quota());
    assertEquals(2, d.used());
    assertEquals(2, d.retryAfterSeconds());
    assertEquals(1, ledger.denials("requests.perDay"));
    assertNull(ledger.check("alice", q, false), "a tunnel is not refused by a request quota");
  }

  @Test
  void aNewDayStartsFreshCountersButTheMonthGoesOn() {
    Quota q = new Quota(0L, 0L, 1L, 5L, 0L);
    assertNull(ledger.check("alice", q, true));
    assertNotNull(ledger.check("alice", q, true));
    clock.addAndGet(3000); // 2026-11-30T00:00:01Z
    assertNull(ledger.check("alice", q, true), "a new day");
    assertEquals(2, ledger.usage(u -> q).get("alice").month().requests());
    clock.addAndGet(24 * 3600_000L); // 2026-12-01: a new month too
    assertEquals(0, ledger.usage(u -> q).get("alice").month().requests());
  }

  @Test
  void crossingAByteQuotaIsReportedOnceAndOtherNodesCountToo() {
    List<String> reported = new ArrayList<>();
    ledger.onExceeded((u, d) -> reported.add(u + " " + d.quota()));
    Quota q = new Quota(1000L, 0L, 0L, 0L, 0L);
    assertNull(ledger.check("bob", q, false));
    ledger.countBytes("bob", 600);
    assertEquals(List.of(), reported);
    ledger.countBytes("bob", 600);
    ledger.countBytes("bob", 600);
    assertEquals(List.of("bob bytes.perDay"), reported, "once, at the crossing");
    assertNotNull(ledger.check("bob", q, false));

    assertNull(ledger.check("carol", q, false));
    ledger.countBytes("carol", 400);
    ledger.applyOthers(Map.of("carol", Map.of(ledger.periods().day(), new Counts(700, 0, 0))));
    assertTrue(reported.contains("carol bytes.perDay"), "over with what the other nodes spent");
    assertEquals(1100, ledger.usage(u -> q).get("carol").day().bytes());
  }

  @Test
  void tunnelTimeIsCountedInMilliseconds() {
    Quota q = new Quota(0L, 0L, 0L, 0L, 2L);
    assertNull(ledger.check("dave", q, false));
    ledger.countTunnelMillis("dave", 1500);
    assertNull(ledger.check("dave", q, false));
    ledger.countTunnelMillis("dave", 600);
    assertEquals("tunnelSeconds.perDay", ledger.check("dave", q, false).quota());
    assertNull(ledger.check("dave", q, true), "requests are not refused by tunnel time");
  }

  @Test
  void aResetStartsAfreshAndOnlyOnce() {
    Quota q = requestsPerDay(1);
    assertNull(ledger.check("erin", q, true));
    assertNotNull(ledger.check("erin", q, true));
    long at = clock.get();
    ledger.reset("erin", at);
    assertNull(ledger.check("erin", q, true));
    ledger.reset("erin", at); // the same reset again (from the event bus): nothing happens
    assertNotNull(ledger.check("erin", q, true));
    assertEquals(at, ledger.resetAt("erin"));
  }

  @Test
  void ownCountsAreReportedAndRestored() {
    assertNull(ledger.check("fay", requestsPerDay(0), true));
    ledger.countBytes("fay", 10);
    List<QuotaLedger.Contribution> own = ledger.own();
    assertEquals(2, own.size(), "day and month");
    QuotaLedger restored = new QuotaLedger(clock::get);
    own.forEach(restored::restoreOwn);
    assertEquals(new Counts(10, 1, 0), restored.usage(u -> Quota.UNLIMITED).get("fay").day());
  }

  @Test
  void periodsAreUtcCalendarDaysAndMonths() {
    Periods p = Periods.at(Instant.parse("2026-02-28T12:00:00Z").toEpochMilli());
    assertEquals("d2026-02-28", p.day());
    assertEquals("m2026-02", p.month());
    assertEquals(Instant.parse("2026-03-01T00:00:00Z").toEpochMilli(), p.monthEnd());
    assertEquals(12 * 3600, p.secondsToDayEnd(Instant.parse("2026-02-28T12:00:00Z").toEpochMilli()));
  }
}
