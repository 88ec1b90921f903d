package dev.tollgate.control;

import dev.tollgate.common.AtomicFiles;
import dev.tollgate.common.policy.Htpasswd;
import dev.tollgate.common.policy.Policy;
import dev.tollgate.common.policy.PolicyException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's policy versions on disk: one file per accepted version ({@code v<N>.json}, written
 * temp-fsync-rename), the highest one that parses is current, the last {@value #KEPT} are kept.
 * A crash mid-write leaves a {@code .tmp} file that is ignored, so a node can always start.
 * Blocking file IO: call from a worker. Not thread-safe: the control verticle serialises calls.
 */
public final class PolicyStore {
  public static final int KEPT = 20;
  private static final Logger LOG = LoggerFactory.getLogger(PolicyStore.class);
  private static final Pattern FILE = Pattern.compile("v(\\d+)\\.json");

  /**
   * One accepted version.
   *
   * @param version its number, 1 upwards
   * @param who who pushed it (operator address, "seed", "rollback to N")
   * @param at when
   * @param policy the validated policy, carrying {@code version}
   */
  public record Entry(int version, String who, Instant at, Policy policy) {
    /** The stored form, also what goes over the cluster. */
    public JsonObject toJson() {
      return new JsonObject().put("version", version).put("who", who).put("at", at.toString()).put("policy", policy.toJson());
    }

    /** Reads {@link #toJson()}'s form; the policy is validated again. */
    public static Entry fromJson(JsonObject json) {
      Policy p = Policy.fromJson(json.getJsonObject("policy"));
      int version = json.getInteger("version");
      return new Entry(version, json.getString("who"), Instant.parse(json.getString("at")), p.withVersion(version));
    }

    /** History listing form: no policy body. */
    public JsonObject summary() {
      return new JsonObject().put("version", version).put("who", who).put("at", at.toString());
    }
  }

  private final Path dir;
  private final List<Entry> entries = new ArrayList<>();

  private PolicyStore(Path dir) {
    this.dir = dir;
  }

  /**
   * Opens the store in {@code dir}; when it holds no version, {@code seed} (a policy JSON file,
   * may be null) becomes version 1, else the empty policy does.
   */
  public static PolicyStore open(Path dir, Path seed) throws IOException {
    Files.createDirectories(dir);
    PolicyStore store = new PolicyStore(dir);
    store.load();
    if (store.entries.isEmpty()) {
      Policy first = seed == null ? Policy.empty() : Policy.fromJson(readJson(seed));
      store.accept(first, seed == null ? "default" : "seed " + seed, Instant.now());
    }
    return store;
  }

  private static JsonObject readJson(Path file) throws IOException {
    try {
      return new JsonObject(Files.readString(file));
    } catch (DecodeException e) {
      throw new PolicyException("", file + " is not JSON: " + e.getMessage());
    }
  }

  private void load() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Matcher m = FILE.matcher(f.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        try {
          entries.add(Entry.fromJson(new JsonObject(Files.readString(f))));
        } catch (RuntimeException e) {
          LOG.warn("ignoring unreadable policy file {}: {}", f, e.getMessage());
        }
      }
    }
    entries.sort(Comparator.comparingInt(Entry::version));
    if (!entries.isEmpty()) {
      // Outside the torn-file tolerance above: an htpasswd file that cannot be read must stop the
      // start, never silently fall back to an older policy.
      Entry last = entries.remove(entries.size() - 1);
      entries.add(new Entry(last.version(), last.who(), last.at(), Htpasswd.resolve(last.policy())));
    }
  }

  /** The version in force. */
  public Entry current() {
    return entries.get(entries.size() - 1);
  }

  /** Accepted versions, oldest first (at most {@value #KEPT}). */
  public List<Entry> history() {
    return List.copyOf(entries);
  }

  public Optional<Entry> find(int version) {
    return entries.stream().filter(e -> e.version() == version).findFirst();
  }

  /**
   * Stores {@code policy} as the next version and makes it current. A policy naming an htpasswd
   * file must be able to read it now ({@link PolicyException} otherwise, nothing stored).
   */
  public Entry accept(Policy policy, String who, Instant at) throws IOException {
    return acceptAs(entries.isEmpty() ? 1 : current().version() + 1, policy, who, at);
  }

  /**
   * Stores {@code policy} as {@code version}, which must be above the current one (a cluster
   * numbers versions across nodes, so a node may skip some), and makes it current.
   */
  public Entry acceptAs(int version, Policy policy, String who, Instant at) throws IOException {
    if (!entries.isEmpty() && version <= current().version()) {
      throw new IllegalArgumentException("version " + version + " is not above the current " + current().version());
    }
    Policy resolved = Htpasswd.resolve(policy);
    Entry entry = new Entry(version, who, at, resolved.withVersion(version));
    // 0600: a policy holds password hashes.
    AtomicFiles.write(dir.resolve("v" + version + ".json"), entry.toJson().encodePrettily(), true);
    entries.add(entry);
    while (entries.size() > KEPT) {
      Entry old = entries.remove(0);
      Files.deleteIfExists(dir.resolve("v" + old.version() + ".json"));
    }
    return entry;
  }
}
