package dev.tollgate.common.quota;

import dev.tollgate.common.policy.Quota;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * Per-user usage in the current day and month, and the decisions against the policy's quotas.
 * Thread-safe; every decision is local. What this node counted ("own") goes to the cluster through
 * {@link #own}; what the other nodes counted comes back through {@link #applyOthers} at least once
 * a second, so a user can overshoot by at most what the other nodes let through since their last
 * report. Users are keyed as {@link dev.tollgate.common.limits.UserLimiter} keys them
 * ({@code -} for unauthenticated clients).
 *
 * <p>Each user's counters for a period carry the time they started ({@code since}): a reset
 * ({@link #reset}) starts new counters, and contributions older than a reset no longer count.
 */
public final class QuotaLedger {
  private final ConcurrentHashMap<String, Account> accounts = new ConcurrentHashMap<>();
  private final LongSupplier clock;
  private volatile BiConsumer<String, Denial> onExceeded = (u, d) -> {};
  /** Refusals by quota name ({@code bytes.perDay}, ...), for metrics. */
  private final ConcurrentHashMap<String, LongAdder> denials = new ConcurrentHashMap<>();

  /** The quota names, as written in the policy. */
  public static final List<String> QUOTAS = List.of("bytes.perDay", "bytes.perMonth", "requests.perDay", "requests.perMonth", "tunnelSeconds.perDay");

  /** One user's counters in one period on this node, and the other nodes' sum. */
  static final class Period {
    final String id;
    final long since;
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong requests = new AtomicLong();
    final AtomicLong tunnelMillis = new AtomicLong();
    volatile Counts others = Counts.ZERO;

    Period(String id, long since) {
      this.id = id;
      this.since = since;
    }

    Counts own() {
      return new Counts(bytes.get(), requests.get(), tunnelMillis.get());
    }

    Counts total() {
      return own().plus(others);
    }
  }

  /** The periods in force for one user. */
  record Window(Periods periods, Period day, Period month) {}

  static final class Account {
    volatile Window window;
    volatile Quota quota = Quota.UNLIMITED;
    volatile long resetAt;

    Account(Window window) {
      this.window = window;
    }
  }

  public QuotaLedger() {
    this(System::currentTimeMillis);
  }

  /** @param clock epoch milliseconds (tests move it across midnight) */
  public QuotaLedger(LongSupplier clock) {
    this.clock = clock;
  }

  /** Called (on any thread) when a user's bytes or tunnel time cross a quota: close their tunnels. */
  public void onExceeded(BiConsumer<String, Denial> listener) {
    onExceeded = listener;
  }

  private Account account(String user, long now) {
    Account a = accounts.computeIfAbsent(user, u -> new Account(fresh(Periods.at(now), now)));
    Window w = a.window;
    if (!w.periods().contains(now)) {
      synchronized (a) {
        w = a.window;
        if (!w.periods().contains(now)) {
          Periods p = Periods.at(now);
          // A new day; the month goes on unless it changed too.
          Period month = p.month().equals(w.month().id) ? w.month() : new Period(p.month(), p.monthStart());
          a.window = new Window(p, new Period(p.day(), p.dayStart()), month);
        }
      }
    }
    return a;
  }

  private static Window fresh(Periods p, long since) {
    return new Window(p, new Period(p.day(), Math.max(since, p.dayStart())), new Period(p.month(), Math.max(since, p.monthStart())));
  }

  /**
   * Checks {@code user} against {@code quota} before a forwarded request ({@code request}: also
   * counts it when allowed) or a new tunnel. Returns the first quota used up, or null.
   * Requests are refused by the byte and request quotas, tunnels by the byte and tunnel-time quotas.
   */
  public Denial check(String user, Quota quota, boolean request) {
    long now = clock.getAsLong();
    Account a = account(user, now);
    a.quota = quota;
    Window w = a.window;
    Denial d = over(quota, w, now, request, !request);
    if (d == null && request) {
      w.day().requests.incrementAndGet();
      w.month().requests.incrementAndGet();
    } else if (d != null) {
      denials.computeIfAbsent(d.quota(), k -> new LongAdder()).increment();
    }
    return d;
  }

  private static Denial over(Quota q, Window w, long now, boolean requests, boolean tunnels) {
    if (!q.limitsAnything()) {
      return null;
    }
    Counts day = w.day().total();
    Counts month = w.month().total();
    Periods p = w.periods();
    Denial d = null;
    if (q.bytesPerDay() > 0 && day.bytes() >= q.bytesPerDay()) {
      d = new Denial("bytes.perDay", q.bytesPerDay(), day.bytes(), p.secondsToDayEnd(now));
    } else if (q.bytesPerMonth() > 0 && month.bytes() >= q.bytesPerMonth()) {
      d = new Denial("bytes.perMonth", q.bytesPerMonth(), month.bytes(), p.secondsToMonthEnd(now));
    } else if (requests && q.requestsPerDay() > 0 && day.requests() >= q.requestsPerDay()) {
      d = new Denial("requests.perDay", q.requestsPerDay(), day.requests(), p.secondsToDayEnd(now));
    } else if (requests && q.requestsPerMonth() > 0 && month.requests() >= q.requestsPerMonth()) {
      d = new Denial("requests.perMonth", q.requestsPerMonth(), month.requests(), p.secondsToMonthEnd(now));
    } else if (tunnels && q.tunnelSecondsPerDay() > 0 && day.tunnelMillis() >= q.tunnelSecondsPerDay() * 1000) {
      d = new Denial("tunnelSeconds.perDay", q.tunnelSecondsPerDay(), day.tunnelMillis() / 1000, p.secondsToDayEnd(now));
    }
    return d;
  }

  /** Counts bytes moved for {@code user} (either way); crossing a byte quota reports it (see {@link #onExceeded}). */
  public void countBytes(String user, long n) {
    if (n <= 0) {
      return;
    }
    long now = clock.getAsLong();
    Account a = account(user, now);
    Window w = a.window;
    w.day().bytes.addAndGet(n);
    w.month().bytes.addAndGet(n);
    Quota q = a.quota;
    if (q.bytesPerDay() > 0 || q.bytesPerMonth() > 0) {
      Denial d = over(q, w, now, false, false);
      if (d != null && d.used() - n < d.limit()) { // report the crossing once
        onExceeded.accept(user, d);
      }
    }
  }

  /** Counts tunnel open time for {@code user}; crossing the tunnel-time quota reports it. */
  public void countTunnelMillis(String user, long millis) {
    if (millis <= 0) {
      return;
    }
    long now = clock.getAsLong();
    Account a = account(user, now);
    Window w = a.window;
    w.day().tunnelMillis.addAndGet(millis);
    w.month().tunnelMillis.addAndGet(millis);
    Quota q = a.quota;
    if (q.tunnelSecondsPerDay() > 0 && w.day().total().tunnelMillis() >= q.tunnelSecondsPerDay() * 1000) {
      onExceeded.accept(user, over(q, w, now, false, true));
    }
  }

  /** This node's counts for the current periods, per user, for the cluster's sum; users with nothing are left out. */
  public List<Contribution> own() {
    long now = clock.getAsLong();
    List<Contribution> out = new ArrayList<>();
    accounts.forEach((user, a0) -> {
      Window w = account(user, now).window;
      for (Period p : List.of(w.day(), w.month())) {
        Counts c = p.own();
        if (!c.isZero()) {
          out.add(new Contribution(p.id, user, p.since, c));
        }
      }
    });
    return out;
  }

  /**
   * Takes what this node counted before a restart (from the cluster's map or the data dir), for a
   * current period; the counting goes on from there.
   */
  public void restoreOwn(Contribution c) {
    long now = clock.getAsLong();
    Account a = account(c.user(), now);
    synchronized (a) {
      Window w = a.window;
      Period p = c.period().equals(w.day().id) ? w.day() : c.period().equals(w.month().id) ? w.month() : null;
      if (p == null || c.since() < a.resetAt) {
        return;
      }
      Period restored = new Period(p.id, Math.min(p.since, c.since()));
      restored.bytes.set(p.bytes.get() + c.counts().bytes());
      restored.requests.set(p.requests.get() + c.counts().requests());
      restored.tunnelMillis.set(p.tunnelMillis.get() + c.counts().tunnelMillis());
      restored.others = p.others;
      a.window = p == w.day() ? new Window(w.periods(), restored, w.month()) : new Window(w.periods(), w.day(), restored);
    }
  }

  /**
   * Takes the other nodes' sums for the current periods: {@code user → period id → counts}. A
   * user missing from the map has spent nothing elsewhere. Users now over a byte or tunnel-time
   * quota are reported again (their tunnels are closed).
   */
  public void applyOthers(Map<String, Map<String, Counts>> others) {
    long now = clock.getAsLong();
    others.keySet().forEach(u -> account(u, now));
    accounts.forEach((user, a0) -> {
      Account a = account(user, now);
      Window w = a.window;
      Map<String, Counts> mine = others.getOrDefault(user, Map.of());
      w.day().others = mine.getOrDefault(w.day().id, Counts.ZERO);
      w.month().others = mine.getOrDefault(w.month().id, Counts.ZERO);
      Denial d = over(a.quota, w, now, false, true);
      if (d != null) {
        onExceeded.accept(user, d);
      }
    });
  }

  /**
   * Starts {@code user}'s counters afresh as of {@code at} (an operator's reset, here or on another
   * node); contributions that started before it no longer count. Idempotent.
   */
  public void reset(String user, long at) {
    long now = clock.getAsLong();
    Account a = account(user, now);
    synchronized (a) {
      if (at <= a.resetAt) {
        return;
      }
      a.resetAt = at;
      a.window = fresh(Periods.at(now), Math.max(at, now));
    }
  }

  /** The latest reset of {@code user} this node knows of (0: none). */
  public long resetAt(String user) {
    Account a = accounts.get(user);
    return a == null ? 0 : a.resetAt;
  }

  /** Requests and tunnels refused by {@code quota} (a name from {@link #QUOTAS}) since the node started. */
  public long denials(String quota) {
    LongAdder a = denials.get(quota);
    return a == null ? 0 : a.sum();
  }

  /**
   * The sum over all users of one count in the current day ({@code month}: false) or month, as
   * this node knows the cluster's: {@code kind} is bytes, requests or tunnelSeconds.
   */
  public long total(String kind, boolean month) {
    long now = clock.getAsLong();
    long sum = 0;
    for (String user : accounts.keySet()) {
      Window w = account(user, now).window;
      Counts c = (month ? w.month() : w.day()).total();
      sum += switch (kind) {
        case "bytes" -> c.bytes();
        case "requests" -> c.requests();
        default -> c.tunnelMillis() / 1000;
      };
    }
    return sum;
  }

  /** Cluster-wide counts per user for the current day and month (as {@code [day, month]}), without touching their quotas. */
  public Map<String, Counts[]> counts() {
    long now = clock.getAsLong();
    Map<String, Counts[]> out = new LinkedHashMap<>();
    accounts.keySet().stream().sorted().forEach(user -> {
      Window w = account(user, now).window;
      out.put(user, new Counts[] {w.day().total(), w.month().total()});
    });
    return out;
  }

  /** Re-reads every known user's quota (a new policy): a raised quota lets them through at once, a lowered one closes tunnels over it. */
  public void requota(Function<String, Quota> quotaFor) {
    accounts.forEach((user, a) -> a.quota = quotaFor.apply(user));
  }

  /**
   * Cluster-wide usage as this node knows it, per user: {@code day} and {@code month} counts,
   * the quota in force ({@code quotaFor}, by user key) and the first quota used up.
   */
  public Map<String, Usage> usage(Function<String, Quota> quotaFor) {
    long now = clock.getAsLong();
    Map<String, Usage> out = new LinkedHashMap<>();
    accounts.keySet().stream().sorted().forEach(user -> {
      Account a = account(user, now);
      a.quota = quotaFor.apply(user);
      Window w = a.window;
      out.put(user, new Usage(w.periods(), w.day().total(), w.month().total(), a.quota, over(a.quota, w, now, true, true)));
    });
    return out;
  }

  /** The current periods. */
  public Periods periods() {
    return Periods.at(clock.getAsLong());
  }

  /**
   * One user's counts on one node in one period, as stored in the cluster's map.
   *
   * @param period {@link Periods#day()} or {@link Periods#month()} id
   * @param since when these counters started (a reset, the period's start, or the first use)
   */
  public record Contribution(String period, String user, long since, Counts counts) {}

  /**
   * A user's usage for the API.
   *
   * @param denial the first quota used up, or null
   */
  public record Usage(Periods periods, Counts day, Counts month, Quota quota, Denial denial) {}
}
