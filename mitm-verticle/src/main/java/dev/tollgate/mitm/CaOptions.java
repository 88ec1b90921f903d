package dev.tollgate.mitm;

import dev.tollgate.common.Cidr;
import dev.tollgate.common.Durations;
import dev.tollgate.mitm.impl.LeafName;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How the interception CA is made and how it mints leaves.
 *
 * <p>The CA fields ({@link #setName name}, {@link #setKeyAlgorithm keyAlgorithm}, {@link
 * #setValidity validity} and the name constraints) are used only when a CA is created; a loaded
 * CA keeps what its certificate says. The leaf fields apply to every CA.
 */
public final class CaOptions {
  /** No name: a random one is picked at creation, so two installations never look alike. */
  public static final String DEFAULT_NAME = "";

  private static final int MAX_NAME = 52;

  public static final KeyAlgorithm DEFAULT_KEY_ALGORITHM = KeyAlgorithm.EC_P256;
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(3650);
  public static final KeyAlgorithm DEFAULT_LEAF_KEY_ALGORITHM = KeyAlgorithm.EC_P256;

  /** Short, so that a leaked leaf key is of little use; the cache re-mints long before expiry. */
  public static final Duration DEFAULT_LEAF_VALIDITY = Duration.ofDays(7);

  /** The cap on leaf validity: a leaf is not meant to outlive a browser's leaf-lifetime rules. */
  public static final Duration MAX_LEAF_VALIDITY = Duration.ofDays(30);

  private String name;
  private KeyAlgorithm keyAlgorithm;
  private Duration validity;
  private List<String> permittedDomains;
  private List<String> permittedIpRanges;
  private KeyAlgorithm leafKeyAlgorithm;
  private Duration leafValidity;

  public CaOptions() {
    name = DEFAULT_NAME;
    keyAlgorithm = DEFAULT_KEY_ALGORITHM;
    validity = DEFAULT_VALIDITY;
    permittedDomains = List.of();
    permittedIpRanges = List.of();
    leafKeyAlgorithm = DEFAULT_LEAF_KEY_ALGORITHM;
    leafValidity = DEFAULT_LEAF_VALIDITY;
  }

  public CaOptions(CaOptions other) {
    name = other.name;
    keyAlgorithm = other.keyAlgorithm;
    validity = other.validity;
    permittedDomains = other.permittedDomains;
    permittedIpRanges = other.permittedIpRanges;
    leafKeyAlgorithm = other.leafKeyAlgorithm;
    leafValidity = other.leafValidity;
  }

  /** Reads the form {@link #toJson()} writes; absent keys keep their defaults. */
  public CaOptions(JsonObject json) {
    this();
    setName(json.getString("name", name));
    setKeyAlgorithm(KeyAlgorithm.valueOf(json.getString("keyAlgorithm", keyAlgorithm.name())));
    if (json.containsKey("validity")) {
      setValidity(Durations.parse("validity", json.getValue("validity")));
    }
    setPermittedDomains(strings(json.getJsonArray("permittedDomains", new JsonArray())));
    setPermittedIpRanges(strings(json.getJsonArray("permittedIpRanges", new JsonArray())));
    setLeafKeyAlgorithm(KeyAlgorithm.valueOf(json.getString("leafKeyAlgorithm", leafKeyAlgorithm.name())));
    if (json.containsKey("leafValidity")) {
      setLeafValidity(Durations.parse("leafValidity", json.getValue("leafValidity")));
    }
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("keyAlgorithm", keyAlgorithm.name())
        .put("validity", Durations.format(validity))
        .put("permittedDomains", new JsonArray(permittedDomains))
        .put("permittedIpRanges", new JsonArray(permittedIpRanges))
        .put("leafKeyAlgorithm", leafKeyAlgorithm.name())
        .put("leafValidity", Durations.format(leafValidity));
  }

  public String getName() {
    return name;
  }

  /** Goes into the CA subject: {@code CN=Tollgate CA <name>, O=Tollgate}; at most 52 characters. */
  public CaOptions setName(String name) {
    String n = Objects.requireNonNull(name, "name").strip();
    if (n.length() > MAX_NAME) {
      throw new IllegalArgumentException("CA name longer than " + MAX_NAME + " characters (a CN holds 64): " + n);
    }
    this.name = n;
    return this;
  }

  public KeyAlgorithm getKeyAlgorithm() {
    return keyAlgorithm;
  }

  public CaOptions setKeyAlgorithm(KeyAlgorithm keyAlgorithm) {
    this.keyAlgorithm = Objects.requireNonNull(keyAlgorithm, "keyAlgorithm");
    return this;
  }

  public Duration getValidity() {
    return validity;
  }

  /** How long a newly created CA is valid; at least a day. */
  public CaOptions setValidity(Duration validity) {
    if (validity == null || validity.compareTo(Duration.ofDays(1)) < 0) {
      throw new IllegalArgumentException("CA validity must be at least a day, got " + validity);
    }
    this.validity = validity;
    return this;
  }

  public List<String> getPermittedDomains() {
    return permittedDomains;
  }

  /**
   * Restricts a new CA to these DNS domains and their subdomains (a critical nameConstraints
   * extension), so that a stolen CA key cannot vouch for anything else. When domains are given
   * and no IP ranges, every IP address is excluded: a dNSName constraint alone would leave IP
   * SANs unconstrained.
   */
  public CaOptions setPermittedDomains(List<String> domains) {
    List<String> out = new ArrayList<>();
    for (String d : domains) {
      LeafName n = LeafName.parse(d);
      if (n.isIp()) {
        throw new IllegalArgumentException("an IP address is not a domain (use permittedIpRanges): " + d);
      }
      out.add(n.text());
    }
    this.permittedDomains = List.copyOf(out);
    return this;
  }

  public List<String> getPermittedIpRanges() {
    return permittedIpRanges;
  }

  /**
   * Restricts a new CA's IP SANs to these CIDR ranges. When ranges are given and no domains, DNS
   * names are restricted to the reserved {@code invalid} domain, i.e. to none.
   */
  public CaOptions setPermittedIpRanges(List<String> ranges) {
    List<String> out = new ArrayList<>();
    for (String r : ranges) {
      out.add(Cidr.parse(r).toString());
    }
    this.permittedIpRanges = List.copyOf(out);
    return this;
  }

  public KeyAlgorithm getLeafKeyAlgorithm() {
    return leafKeyAlgorithm;
  }

  public CaOptions setLeafKeyAlgorithm(KeyAlgorithm leafKeyAlgorithm) {
    this.leafKeyAlgorithm = Objects.requireNonNull(leafKeyAlgorithm, "leafKeyAlgorithm");
    return this;
  }

  public Duration getLeafValidity() {
    return leafValidity;
  }

  /** Leaf lifetime, notBefore (an hour in the past, for clock skew) to notAfter; at most 30 days. */
  public CaOptions setLeafValidity(Duration leafValidity) {
    if (leafValidity == null || leafValidity.compareTo(Duration.ofHours(2)) < 0 || leafValidity.compareTo(MAX_LEAF_VALIDITY) > 0) {
      throw new IllegalArgumentException("leaf validity must be between 2h and 30 days, got " + leafValidity);
    }
    this.leafValidity = leafValidity;
    return this;
  }

  private static List<String> strings(JsonArray array) {
    List<String> out = new ArrayList<>();
    for (Object o : array) {
      out.add(String.valueOf(o));
    }
    return out;
  }
}
