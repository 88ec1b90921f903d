package dev.tollgate.common.limits;

/**
 * A token bucket: {@code rate} tokens a second, holding at most {@code capacity}. Time is given by
 * the caller (nanoseconds), so the arithmetic is pure and testable. Thread-safe.
 */
public final class TokenBucket {
  private final double ratePerNano;
  private final double capacity;
  private double tokens;
  private long lastNanos;

  public TokenBucket(double ratePerSecond, double capacity, long nowNanos) {
    this.ratePerNano = ratePerSecond / 1e9;
    this.capacity = Math.max(capacity, 1);
    this.tokens = this.capacity;
    this.lastNanos = nowNanos;
  }

  private void refill(long nowNanos) {
    long elapsed = nowNanos - lastNanos;
    if (elapsed > 0) {
      tokens = Math.min(capacity, tokens + elapsed * ratePerNano);
      lastNanos = nowNanos;
    }
  }

  /** Takes one token; returns 0 when there was one, else nanoseconds until one will be there (nothing is taken). */
  public synchronized long tryTake(long nowNanos) {
    refill(nowNanos);
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - tokens) / ratePerNano);
  }

  /**
   * Takes {@code amount} tokens even when the bucket goes into debt (bytes already moved must be
   * paid for); returns nanoseconds until the debt is paid, 0 when there is none.
   */
  public synchronized long consume(long amount, long nowNanos) {
    refill(nowNanos);
    tokens -= amount;
    return tokens >= 0 ? 0 : (long) Math.ceil(-tokens / ratePerNano);
  }
}
