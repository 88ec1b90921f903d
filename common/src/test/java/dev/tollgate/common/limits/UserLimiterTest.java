package dev.tollgate.common.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.policy.Limits;
import org.junit.jupiter.api.Test;

class UserLimiterTest {
  static final long S = 1_000_000_000L;

  @Test
  void tokenBucketAllowsTheBurstThenTheRate() {
    TokenBucket b = new TokenBucket(10, 5, 0);
    for (int i = 0; i < 5; i++) {
      assertEquals(0, b.tryTake(0), "burst " + i);
    }
    long wait = b.tryTake(0);
    assertEquals(S / 10, wait, "one token every 100 ms");
    assertEquals(0, b.tryTake(S / 10));
    assertTrue(b.tryTake(S / 10) > 0);
    assertEquals(0, b.tryTake(10 * S), "refilled");
  }

  @Test
  void byteDebtIsPaidInTime() {
    TokenBucket b = new TokenBucket(1000, 1000, 0);
    assertEquals(0, b.consume(1000, 0));
    assertEquals(S / 2, b.consume(500, 0), "500 bytes over at 1000 B/s: wait half a second");
    assertEquals(0, b.consume(0, S / 2));
  }

  @Test
  void tunnelsAreCountedPerUser() {
    UserLimiter l = new UserLimiter();
    Limits two = new Limits(2, 0, 0, 0);
    assertTrue(l.acquireTunnel("alice", two, 0));
    assertTrue(l.acquireTunnel("alice", two, 0));
    assertFalse(l.acquireTunnel("alice", two, 0));
    assertTrue(l.acquireTunnel("bob", two, 0), "bob has his own slots");
    assertTrue(l.acquireTunnel(null, two, 0), "anonymous shares one entry");
    l.releaseTunnel("alice");
    assertEquals(1, l.tunnels("alice"));
    assertTrue(l.acquireTunnel("alice", two, 0));
    assertTrue(l.acquireTunnel("alice", Limits.UNLIMITED, 0), "raised limits apply at once");
  }

  @Test
  void requestRateFollowsTheLimitsInForce() {
    UserLimiter l = new UserLimiter();
    Limits one = new Limits(0, 1, 1, 0);
    assertEquals(0, l.request("alice", one, 0));
    assertTrue(l.request("alice", one, 0) > 0);
    assertEquals(0, l.request("alice", Limits.UNLIMITED, 0), "lifted");
    assertEquals(0, l.request("bob", one, 0));
  }

  @Test
  void aBucketFollowsANewRateAndOthersSpending() {
    TokenBucket b = TokenBucket.unlimited(0);
    assertEquals(0, b.consume(1_000_000, 0), "unlimited: never waits");
    assertEquals(0, b.drainTaken(), "unlimited spending is not reported");
    b.reconfigure(1000, 1000, 0);
    assertEquals(0, b.consume(1000, 0), "limited now, starting full");
    assertEquals(S, b.consume(1000, 0), "then in debt at the new rate");
    assertEquals(2000, b.drainTaken(), "what this node spent, for the others");
    assertEquals(0, b.drainTaken());
    b.reconfigure(500, 500, S);
    b.charge(500, S);
    assertEquals(S, b.consume(0, S), "the debt was paid by then; another node's 500 bytes put it back, paid at the lowered 500/s");
    assertEquals(0, b.drainTaken(), "a charge is not this node's spending");
  }

  @Test
  void otherNodesTunnelsCountAndAreForgottenWhenTheyFallSilent() {
    UserLimiter l = new UserLimiter();
    Limits three = new Limits(3, 0, 0, 0);
    l.applyRemote("n2", java.util.Map.of("alice", new Usage(2, 0, 0)), u -> three, 0);
    assertTrue(l.acquireTunnel("alice", three, 0));
    assertFalse(l.acquireTunnel("alice", three, 0), "1 here + 2 on n2 = 3");
    assertEquals(java.util.List.of("n2"), l.forgetSilent(1));
    assertTrue(l.acquireTunnel("alice", three, 2), "n2 fell silent: its slots are free");
    java.util.Map<String, Usage> mine = l.drainUsage();
    assertEquals(2, mine.get("alice").tunnels());
  }

  @Test
  void otherNodesRequestsAreChargedToTheSameBucket() {
    UserLimiter l = new UserLimiter();
    Limits ten = new Limits(0, 10, 10, 0);
    assertEquals(0, l.request("carol", ten, 0));
    l.applyRemote("n2", java.util.Map.of("carol", new Usage(0, 9, 0)), u -> ten, 0);
    assertTrue(l.request("carol", ten, 0) > 0, "1 here + 9 there = the burst of 10");
    assertEquals(1, l.drainUsage().get("carol").requests());
  }
}
