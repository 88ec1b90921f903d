package dev.tollgate.testing;

import java.io.File;
import java.util.function.IntSupplier;

/** Open file descriptors of this JVM (Linux), to check that nothing leaks. */
public final class Fds {
  private Fds() {}

  public static int open() {
    String[] names = new File("/proc/self/fd").list();
    return names == null ? -1 : names.length;
  }

  /** Polls until the count is at most {@code baseline} or the deadline passes; returns the last count. */
  public static int settleTo(int baseline, long millis) throws InterruptedException {
    return settle(Fds::open, baseline, millis);
  }

  static int settle(IntSupplier counter, int baseline, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    int n = counter.getAsInt();
    while (n > baseline && System.nanoTime() < deadline) {
      Thread.sleep(50);
      n = counter.getAsInt();
    }
    return n;
  }
}
