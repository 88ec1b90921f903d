package dev.tollgate.common.metrics;

import dev.tollgate.common.quota.QuotaLedger;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Tollgate's own metrics ({@code tollgate_*} in Prometheus), in one place so that every name and
 * label is listed here and in the README. Label values are bounded: methods outside the standard
 * set become {@code OTHER}, statuses become their class ({@code 2xx}), denial reasons a short
 * kind; no label ever carries a host, an address or a user. Thread-safe and cheap: meters are
 * looked up in small maps, never created per request beyond the bounded label sets.
 */
public final class ProxyMetrics {
  /** Metrics that go nowhere (tests, tools). */
  public static ProxyMetrics none() {
    return new ProxyMetrics(new SimpleMeterRegistry());
  }

  private static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");
  private static final Duration[] LATENCY_SLOS = {
    Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
    Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)
  };
  private static final Duration[] TUNNEL_SLOS = {
    Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(1),
    Duration.ofMinutes(5), Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(4)
  };

  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Timer> requestTimers = new ConcurrentHashMap<>();
  /** {@code tollgate.requests} by method, then by status class (index 1 to 5): one lookup per request, no key built. */
  private final Map<String, Counter[]> requestCounters = new ConcurrentHashMap<>();
  /** {@code tollgate.request.duration} by status class (index 1 to 5). */
  private final Timer[] durationByClass = new Timer[6];
  private final Counter forwardedUp;
  private final Counter forwardedDown;
  private final Counter bytesUp;
  private final Counter bytesDown;
  private final Timer tunnelDuration;
  private final Timer connectOk;
  private final Timer connectFailed;
  private final Timer loopLag;
  private final Counter authFailures;
  private Supplier<Number> minted;
  private Supplier<Number> cacheHits;
  private Supplier<Number> rejections;
  private QuotaLedger quotaLedger;
  private MultiGauge userUsage;
  private QuotaLedger userUsageLedger;

  public ProxyMetrics(MeterRegistry registry) {
    this.registry = registry;
    forwardedUp = Counter.builder("tollgate.forwarded.bytes").tag("direction", "up").description("bytes clients sent in forwarded requests").register(registry);
    forwardedDown = Counter.builder("tollgate.forwarded.bytes").tag("direction", "down").description("bytes of forwarded responses to clients").register(registry);
    bytesUp = Counter.builder("tollgate.tunnel.bytes").tag("direction", "up").description("bytes relayed client to upstream by tunnels").register(registry);
    bytesDown = Counter.builder("tollgate.tunnel.bytes").tag("direction", "down").description("bytes relayed upstream to client by tunnels").register(registry);
    tunnelDuration = Timer.builder("tollgate.tunnel.duration").description("how long tunnels stayed open").serviceLevelObjectives(TUNNEL_SLOS).register(registry);
    connectOk = connectTimer("ok");
    connectFailed = connectTimer("failed");
    loopLag = Timer.builder("tollgate.event.loop.lag").description("how late a 100 ms timer fires on each event loop").serviceLevelObjectives(LATENCY_SLOS).register(registry);
    authFailures = Counter.builder("tollgate.auth.failures").description("proxy logins refused (wrong password, unknown user)").register(registry);
    for (String result : new String[] {"ok", "denied", "limited", "failed"}) {
      counter("tollgate.tunnels.opened", "result", result);
    }
    for (String kind : new String[] {"rule", "default", "private-address", "port", "auth", "other"}) {
      counter("tollgate.policy.denials", "reason", kind);
    }
    for (String kind : new String[] {"requests", "tunnels", "quota"}) {
      counter("tollgate.rate.limited", "limit", kind);
    }
    counter("tollgate.tls.handshake.failures", "listener", "proxy-tls");
  }

  private Timer connectTimer(String result) {
    return Timer.builder("tollgate.upstream.connect").tag("result", result).description("upstream TCP connect time").serviceLevelObjectives(LATENCY_SLOS).register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  private Counter counter(String name, String tag, String value) {
    return counters.computeIfAbsent(name + '|' + tag + '|' + value, k -> Counter.builder(name).tag(tag, value).register(registry));
  }

  /** A gauge read at each scrape. */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  /**
   * A finished forwarded request, or a CONNECT that failed before its tunnel opened, with the
   * status the client saw.
   *
   * @param denial the failure's reason when the status is 403, else null
   */
  public void exchange(String method, int status, long durationNanos, String denial) {
    exchange(method, status, durationNanos, denial, 0, 0);
  }

  /** As above, with the bytes the exchange moved (request up, response down). */
  public void exchange(String method, int status, long durationNanos, String denial, long up, long down) {
    forwardedUp.increment(up);
    forwardedDown.increment(down);
    String m = method == null ? "OTHER" : method.toUpperCase(Locale.ROOT);
    if (!METHODS.contains(m)) {
      m = "OTHER";
    }
    boolean connect = m.equals("CONNECT");
    int statusIndex = status >= 100 && status < 600 ? status / 100 : 0;
    if (!connect && statusIndex > 0) {
      Counter[] byClass = requestCounters.computeIfAbsent(m, k -> new Counter[6]);
      Counter requests = byClass[statusIndex];
      if (requests == null) {
        requests = byClass[statusIndex] = requestCounter(m, status / 100 + "xx");
      }
      requests.increment();
      Timer timer = durationByClass[statusIndex];
      if (timer == null) {
        timer = durationByClass[statusIndex] = requestTimer(status / 100 + "xx");
      }
      timer.record(durationNanos, TimeUnit.NANOSECONDS);
    } else if (!connect) {
      String statusClass = status / 100 + "xx";
      requestCounter(m, statusClass).increment();
      requestTimer(statusClass).record(durationNanos, TimeUnit.NANOSECONDS);
    } else if (status != 200) {
      counter("tollgate.tunnels.opened", "result", status == 403 || status == 407 ? "denied" : status == 429 ? "limited" : "failed").increment();
    }
    if (status == 403) {
      counter("tollgate.policy.denials", "reason", denialKind(denial)).increment();
    } else if (status == 407) {
      counter("tollgate.policy.denials", "reason", "auth").increment();
    } else if (status == 429) {
      String kind = denial == null ? "requests" : denial.startsWith("tunnel") ? "tunnels" : denial.startsWith("quota") ? "quota" : "requests";
      counter("tollgate.rate.limited", "limit", kind).increment();
    }
  }

  /** Registered once per method and class (Micrometer returns the same counter again; the arrays only spare the lookup). */
  private Counter requestCounter(String method, String statusClass) {
    return counters.computeIfAbsent("tollgate.requests|" + method + '|' + statusClass, k -> Counter.builder("tollgate.requests")
        .tag("method", method)
        .tag("status_class", statusClass)
        .description("forwarded requests by method and status class")
        .register(registry));
  }

  private Timer requestTimer(String statusClass) {
    return requestTimers.computeIfAbsent(statusClass, c -> Timer.builder("tollgate.request.duration")
        .tag("status_class", c)
        .description("forwarded request time, from the request head to the response's end")
        .serviceLevelObjectives(LATENCY_SLOS)
        .register(registry));
  }

  private static String denialKind(String reason) {
    if (reason == null) {
      return "other";
    }
    String r = reason.toLowerCase(Locale.ROOT);
    if (r.startsWith("rule ")) {
      return "rule";
    }
    if (r.contains("default")) {
      return "default";
    }
    if (r.contains("private") || r.contains("metadata") || r.contains("loopback") || r.contains("link-local")) {
      return "private-address";
    }
    if (r.contains("port")) {
      return "port";
    }
    return "other";
  }

  public void tunnelOpened() {
    counter("tollgate.tunnels.opened", "result", "ok").increment();
  }

  public void tunnelClosed(long up, long down, long durationNanos) {
    bytesUp.increment(up);
    bytesDown.increment(down);
    tunnelDuration.record(durationNanos, TimeUnit.NANOSECONDS);
  }

  public void upstreamConnect(long nanos, boolean ok) {
    (ok ? connectOk : connectFailed).record(nanos, TimeUnit.NANOSECONDS);
  }

  public void authFailure() {
    authFailures.increment();
  }

  public void handshakeFailure(String listener) {
    counter("tollgate.tls.handshake.failures", "listener", listener).increment();
  }

  public void eventLoopLag(long nanos) {
    loopLag.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Interception: clients that did not complete the handshake with Tollgate's certificate. */
  /**
   * Quotas: {@code tollgate_quota_denied_total{quota="bytes|requests|tunnelSeconds", period="day|month"}}
   * and {@code tollgate_quota_usage{kind, period}}, the period's cluster-wide usage summed over users
   * (no user label). Holds {@code ledger} strongly (Micrometer keeps only weak references).
   */
  public void quotas(QuotaLedger ledger) {
    quotaLedger = ledger;
    for (String q : QuotaLedger.QUOTAS) {
      String kind = q.substring(0, q.indexOf('.'));
      String period = q.endsWith("perDay") ? "day" : "month";
      FunctionCounter.builder("tollgate.quota.denied", ledger, l -> l.denials(q))
          .tags("quota", kind, "period", period)
          .description("requests and tunnels refused by a used-up quota")
          .register(registry);
    }
    for (String kind : new String[] {"bytes", "requests", "tunnelSeconds"}) {
      for (boolean month : new boolean[] {false, true}) {
        if (kind.equals("tunnelSeconds") && month) {
          continue;
        }
        Gauge.builder("tollgate.quota.usage", ledger, l -> l.total(kind, month))
            .tags("kind", kind, "period", month ? "month" : "day")
            .description("usage in the current UTC period, all users, cluster-wide as this node knows it")
            .register(registry);
      }
    }
  }

  /**
   * Per-user usage, only when the operator switched it on ({@code metrics.userLabels}):
   * {@code tollgate_quota_user_usage{user, kind, period}}, refreshed by {@link #refreshUserUsage}
   * before each scrape. Users are unbounded, hence off by default.
   */
  public void quotaUserLabels(QuotaLedger ledger) {
    userUsage = MultiGauge.builder("tollgate.quota.user.usage")
        .description("a user's usage in the current UTC period, cluster-wide as this node knows it")
        .register(registry);
    userUsageLedger = ledger;
  }

  /** Re-reads per-user usage into its gauge (no-op unless {@link #quotaUserLabels} was called). */
  public void refreshUserUsage() {
    if (userUsage == null) {
      return;
    }
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    userUsageLedger.counts().forEach((user, c) -> {
      for (int i = 0; i < 2; i++) {
        String period = i == 0 ? "day" : "month";
        rows.add(MultiGauge.Row.of(Tags.of("user", user, "kind", "bytes", "period", period), c[i].bytes()));
        rows.add(MultiGauge.Row.of(Tags.of("user", user, "kind", "requests", "period", period), c[i].requests()));
      }
      rows.add(MultiGauge.Row.of(Tags.of("user", user, "kind", "tunnelSeconds", "period", "day"), c[0].tunnelMillis() / 1000));
    });
    userUsage.register(rows, true);
  }

  public void certificateRejections(Supplier<Number> rejections) {
    this.rejections = rejections;
    FunctionCounter.builder("tollgate.mitm.client.rejections", rejections, r -> r.get().doubleValue())
        .description("intercepted clients that rejected Tollgate's certificate (alert, pinning)").register(registry);
  }

  /** Interception's leaf certificates: minted, and served from the cache (read at each scrape). */
  public void certificates(Supplier<Number> minted, Supplier<Number> cacheHits) {
    // Micrometer holds a function counter's object weakly: keep the suppliers alive here.
    this.minted = minted;
    this.cacheHits = cacheHits;
    FunctionCounter.builder("tollgate.mitm.certificates.minted", minted, m -> m.get().doubleValue())
        .description("leaf certificates minted").register(registry);
    FunctionCounter.builder("tollgate.mitm.certificates.cache.hits", cacheHits, h -> h.get().doubleValue())
        .description("leaf certificates served from the cache").register(registry);
  }
}
