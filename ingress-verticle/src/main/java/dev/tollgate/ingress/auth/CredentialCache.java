package dev.tollgate.ingress.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Remembers credentials that bcrypt already verified, so that an authenticated request costs
 * about what an anonymous one does. Bounded (LRU) and short-lived. Entries are keyed by an HMAC
 * of user, password and stored hash under a key made at start: the cache never holds the password
 * and its keys cannot be checked against a guess without the key. A changed hash in a new policy
 * changes the key, so old entries simply stop matching. Thread-safe.
 */
public final class CredentialCache {
  private final long ttlNanos;
  private final Map<String, Long> verified;
  private final SecretKeySpec key;

  public CredentialCache(int maxEntries, long ttlNanos) {
    this.ttlNanos = ttlNanos;
    this.verified =
        new LinkedHashMap<>(64, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > maxEntries;
          }
        };
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    this.key = new SecretKeySpec(secret, "HmacSHA256");
  }

  /** Whether these credentials were verified against {@code hash} within the TTL at {@code nowNanos}. */
  public boolean contains(BasicCredentials credentials, String hash, long nowNanos) {
    String k = keyOf(credentials, hash);
    synchronized (verified) {
      Long expires = verified.get(k);
      if (expires == null) {
        return false;
      }
      if (nowNanos - expires > 0) {
        verified.remove(k);
        return false;
      }
      return true;
    }
  }

  /** Records a successful verification at {@code nowNanos}. */
  public void put(BasicCredentials credentials, String hash, long nowNanos) {
    String k = keyOf(credentials, hash);
    synchronized (verified) {
      verified.put(k, nowNanos + ttlNanos);
    }
  }

  public int size() {
    synchronized (verified) {
      return verified.size();
    }
  }

  private String keyOf(BasicCredentials c, String hash) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      mac.update(c.user().getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      mac.update(c.password().getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      mac.update(hash.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(mac.doFinal());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
