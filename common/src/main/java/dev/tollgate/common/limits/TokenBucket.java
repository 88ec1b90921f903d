package dev.tollgate.common.limits;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * A token bucket: {@code rate} tokens a second, holding at most {@code capacity}. Time is given by
 * the caller (nanoseconds), so the arithmetic is pure and testable. Thread-safe.
 *
 * <p>The rate can change in place ({@link #reconfigure}), so that whoever holds the bucket (an open
 * tunnel) follows a new policy; a rate of 0 means unlimited, which costs one volatile read. In a
 * cluster, what other nodes spent is {@link #charge charged} here too, and what this node spent
 * is counted for them ({@link #drainTaken}): every node's bucket then sees the whole cluster's
 * spending, and the total follows the one rate.
 */
public final class TokenBucket {
  private volatile boolean unlimited;
  private double ratePerNano;
  private double capacity;
  private double tokens;
  private long lastNanos;
  private final LongAdder taken = new LongAdder();
  private volatile LongConsumer meter;

  /** @param ratePerSecond tokens a second; 0 or less is unlimited */
  public TokenBucket(double ratePerSecond, double capacity, long nowNanos) {
    this.lastNanos = nowNanos;
    set(ratePerSecond, capacity);
    this.tokens = this.capacity;
  }

  /** An unlimited bucket that a later {@link #reconfigure} can limit. */
  public static TokenBucket unlimited(long nowNanos) {
    return new TokenBucket(0, 1, nowNanos);
  }

  private void set(double ratePerSecond, double newCapacity) {
    unlimited = ratePerSecond <= 0;
    ratePerNano = ratePerSecond / 1e9;
    capacity = Math.max(newCapacity, 1);
  }

  /** Changes the rate and capacity, keeping what is in the bucket (at most the new capacity). */
  public synchronized void reconfigure(double ratePerSecond, double newCapacity, long nowNanos) {
    if (!unlimited) {
      refill(nowNanos);
    } else {
      tokens = Math.max(newCapacity, 1);
    }
    lastNanos = nowNanos;
    set(ratePerSecond, newCapacity);
    tokens = Math.min(tokens, capacity);
  }

  /**
   * Reports every amount {@link #consume consumed} here (limited or not) to {@code meter}: the
   * user's quota accounting rides on the bucket that every byte of theirs already passes.
   */
  public void meter(LongConsumer meter) {
    this.meter = meter;
  }

  public boolean isUnlimited() {
    return unlimited;
  }

  private void refill(long nowNanos) {
    long elapsed = nowNanos - lastNanos;
    if (elapsed > 0) {
      tokens = Math.min(capacity, tokens + elapsed * ratePerNano);
      lastNanos = nowNanos;
    }
  }

  /** Takes one token; returns 0 when there was one, else nanoseconds until one will be there (nothing is taken). */
  public long tryTake(long nowNanos) {
    if (unlimited) {
      return 0;
    }
    synchronized (this) {
      refill(nowNanos);
      if (tokens >= 1) {
        tokens -= 1;
        taken.increment();
        return 0;
      }
      return (long) Math.ceil((1 - tokens) / ratePerNano);
    }
  }

  /**
   * Takes {@code amount} tokens even when the bucket goes into debt (bytes already moved must be
   * paid for); returns nanoseconds until the debt is paid, 0 when there is none.
   */
  public long consume(long amount, long nowNanos) {
    LongConsumer m = meter;
    if (m != null) {
      m.accept(amount);
    }
    if (unlimited) {
      return 0;
    }
    taken.add(amount);
    synchronized (this) {
      refill(nowNanos);
      tokens -= amount;
      return tokens >= 0 ? 0 : (long) Math.ceil(-tokens / ratePerNano);
    }
  }

  /** Spends {@code amount} that another node took (debt allowed); not counted by {@link #drainTaken}. */
  public void charge(long amount, long nowNanos) {
    if (unlimited || amount <= 0) {
      return;
    }
    synchronized (this) {
      refill(nowNanos);
      tokens -= amount;
    }
  }

  /** What this node took since the last call (for the cluster's accounting). */
  public long drainTaken() {
    return taken.sumThenReset();
  }
}
