import dev.tollgate.mitm.CaOptions;
import dev.tollgate.mitm.CertificateAuthority;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Leaf minting on a cache miss, in-JVM: {@code CertificateAuthority.mint} for names never minted
 * before (a fresh key pair and a signature each), the work Tollgate does off the event loop when
 * its leaf cache misses. Run with Tollgate's jar on the class path:
 *
 * <pre>
 *   java -cp node/target/tollgate.jar bench/MintBench.java [--ca-dir DIR] [--count 1000] [--warmup 300]
 * </pre>
 *
 * With {@code --ca-dir} the CA there (Tollgate's data dir: ca.pem, ca-key.pem) is used, else a
 * fresh EC P-256 CA. Prints {@code RESULT median_ms=... p90_ms=... p99_ms=... count=...}.
 */
public class MintBench {
  public static void main(String[] args) throws Exception {
    String dir = null;
    int count = 1000;
    int warmup = 300;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--ca-dir" -> dir = args[i + 1];
        case "--count" -> count = Integer.parseInt(args[i + 1]);
        case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    CertificateAuthority ca = dir == null ? CertificateAuthority.create(new CaOptions()) : CertificateAuthority.load(Path.of(dir), new CaOptions());
    for (int i = 0; i < warmup; i++) {
      ca.mint("warmup-" + i + ".bench.test");
    }
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      ca.mint("host-" + i + ".bench.test");
      nanos[i] = System.nanoTime() - t0;
    }
    Arrays.sort(nanos);
    System.out.printf("RESULT median_ms=%.3f p90_ms=%.3f p99_ms=%.3f count=%d%n",
        nanos[count / 2] / 1e6, nanos[count * 9 / 10] / 1e6, nanos[count * 99 / 100] / 1e6, count);
  }
}
