package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.testing.Await;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LeafCacheTest {
  private static final CertificateAuthority REAL = CertificateAuthority.create(new CaOptions().setName("cache"));
  private final ExecutorService workers = Executors.newFixedThreadPool(4);

  @AfterEach
  void stop() {
    workers.shutdownNow();
  }

  @Test
  void aHitReturnsTheSameLeaf() throws Exception {
    LeafCache cache = LeafCache.create(REAL, workers);
    LeafCertificate first = get(cache, "example.com");
    assertSame(first, get(cache, "example.com"));
    assertSame(first, get(cache, "EXAMPLE.com."), "names are canonical keys");
    assertEquals(1, cache.mints());
    assertEquals(2, cache.hits());
    Pki.validate(first, REAL.certificate());
  }

  @Test
  void fiftyConcurrentRequestsMintOnce() throws Exception {
    CountDownLatch allAsked = new CountDownLatch(50);
    Counting ca = new Counting(REAL, allAsked);
    LeafCache cache = LeafCache.create(ca, workers);
    ExecutorService callers = Executors.newFixedThreadPool(50);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<CompletableFuture<CompletionStage<LeafCertificate>>> asks = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        asks.add(CompletableFuture.supplyAsync(() -> {
          await(start);
          CompletionStage<LeafCertificate> stage = cache.get("example.com");
          allAsked.countDown();
          return stage;
        }, callers));
      }
      start.countDown();
      Set<LeafCertificate> distinct = ConcurrentHashMap.newKeySet();
      for (CompletableFuture<CompletionStage<LeafCertificate>> ask : asks) {
        distinct.add(ask.get(20, TimeUnit.SECONDS).toCompletableFuture().get(20, TimeUnit.SECONDS));
      }
      assertEquals(1, distinct.size());
      assertEquals(1, ca.calls.get());
      assertEquals(1, cache.mints());
      assertEquals(49, cache.hits());
    } finally {
      callers.shutdownNow();
    }
  }

  @Test
  void leastRecentlyUsedNamesAreEvictedBeyondTheBound() throws Exception {
    LeafCache cache = LeafCache.create(REAL, workers, 3, Clock.systemUTC());
    LeafCertificate a = get(cache, "a.test");
    get(cache, "b.test");
    get(cache, "c.test");
    get(cache, "a.test"); // a is now more recent than b
    get(cache, "d.test");
    assertEquals(3, cache.size());
    assertEquals(1, cache.evictions());
    assertSame(a, get(cache, "a.test"));
    long mints = cache.mints();
    get(cache, "b.test");
    assertEquals(mints + 1, cache.mints(), "b was evicted, so it is minted again");
    assertEquals(3, cache.size());
  }

  @Test
  void aLeafIsReMintedWhenAThirdOfItsValidityRemains() throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    CertificateAuthority ca = CertificateAuthority.create(new CaOptions().setLeafValidity(Duration.ofDays(3)).setValidity(Duration.ofDays(36500)))
        .withClock(clock);
    LeafCache cache = LeafCache.create(ca, workers, 100, clock);
    LeafCertificate first = get(cache, "example.com");
    // Valid 23:00 Dec 31 to 23:00 Jan 3: renewed from 23:00 Jan 2 on.
    clock.now = Instant.parse("2030-01-02T22:59:00Z");
    assertSame(first, get(cache, "example.com"));
    clock.now = Instant.parse("2030-01-02T23:00:00Z");
    LeafCertificate second = get(cache, "example.com");
    assertNotSame(first, second);
    assertEquals(Instant.parse("2030-01-05T22:00:00Z"), second.notAfter());
    assertSame(second, get(cache, "example.com"));
    assertEquals(2, cache.mints());
  }

  @Test
  void aFailedMintIsNotCached() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CertificateAuthority flaky = new Delegating(REAL) {
      @Override
      public LeafCertificate mint(String name) {
        if (calls.getAndIncrement() == 0) {
          throw new IllegalStateException("disk on fire");
        }
        return super.mint(name);
      }
    };
    LeafCache cache = LeafCache.create(flaky, workers);
    ExecutionException e = assertThrows(ExecutionException.class, () -> cache.get("example.com").toCompletableFuture().get(20, TimeUnit.SECONDS));
    assertEquals("disk on fire", e.getCause().getMessage());
    assertEquals(0, cache.size());
    assertEquals("example.com", get(cache, "example.com").name());
    assertEquals(2, cache.mints());
  }

  @Test
  void aBadNameFailsTheStageWithoutMinting() {
    LeafCache cache = LeafCache.create(REAL, workers);
    ExecutionException e = assertThrows(ExecutionException.class, () -> cache.get("*.example.com").toCompletableFuture().get());
    assertInstanceOf(IllegalArgumentException.class, e.getCause());
    assertEquals(0, cache.mints());
  }

  @Test
  void withVertxItMintsOnAWorkerAndAnswersOnTheEventLoop() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Set<Boolean> mintedOnEventLoop = ConcurrentHashMap.newKeySet();
      CertificateAuthority watched = new Delegating(REAL) {
        @Override
        public LeafCertificate mint(String name) {
          mintedOnEventLoop.add(Context.isOnEventLoopThread());
          return super.mint(name);
        }
      };
      LeafCache cache = LeafCache.create(watched, task -> vertx.executeBlocking(() -> {
        task.run();
        return null;
      }, false));
      Promise<Boolean> answeredOnEventLoop = Promise.promise();
      Context context = vertx.getOrCreateContext();
      context.runOnContext(v -> Future.fromCompletionStage(cache.get("example.com"), context)
          .onSuccess(leaf -> answeredOnEventLoop.complete(Context.isOnEventLoopThread()))
          .onFailure(answeredOnEventLoop::fail));
      assertTrue(Await.result(answeredOnEventLoop.future()));
      assertEquals(Set.of(false), mintedOnEventLoop);
    } finally {
      Await.result(vertx.close());
    }
  }

  @Test
  void theStageHandedOutCannotCompleteTheCachedOne() throws Exception {
    LeafCache cache = LeafCache.create(REAL, workers);
    LeafCertificate leaf = get(cache, "example.com");
    cache.get("example.com").toCompletableFuture().obtrudeValue(null);
    assertSame(leaf, get(cache, "example.com"));
  }

  private static LeafCertificate get(LeafCache cache, String name) throws Exception {
    return cache.get(name).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(20, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** Mints only once every caller has asked, so that all 50 requests overlap one mint. */
  private static final class Counting extends Delegating {
    final AtomicInteger calls = new AtomicInteger();
    private final CountDownLatch gate;

    Counting(CertificateAuthority ca, CountDownLatch gate) {
      super(ca);
      this.gate = gate;
    }

    @Override
    public LeafCertificate mint(String name) {
      calls.incrementAndGet();
      await(gate);
      return super.mint(name);
    }
  }

  private static class Delegating implements CertificateAuthority {
    private final CertificateAuthority ca;

    Delegating(CertificateAuthority ca) {
      this.ca = ca;
    }

    @Override
    public void save(Path dir) {
      throw new UnsupportedOperationException();
    }

    @Override
    public X509Certificate certificate() {
      return ca.certificate();
    }

    @Override
    public String certificatePem() {
      return ca.certificatePem();
    }

    @Override
    public LeafCertificate mint(String name) {
      return ca.mint(name);
    }

    @Override
    public CertificateAuthority withClock(Clock clock) {
      return new Delegating(ca.withClock(clock));
    }
  }

  private static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
