package dev.tollgate.common.policy;

import io.vertx.core.json.JsonObject;

/** Policy documents shared by the policy tests. */
final class Fixtures {

  /** A well-formed bcrypt hash (the value is never checked against a password here). */
  static final String HASH = "$2y$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";

  private Fixtures() {}

  /** Parses {@code json} after replacing every {@code HASH} with {@link #HASH}. */
  static Policy policy(String json) {
    return Policy.fromJson(json(json));
  }

  static JsonObject json(String json) {
    return new JsonObject(json.replace("\"HASH\"", "\"" + HASH + "\""));
  }

  /** The example document of the product spec, with valid hashes. */
  static final String SPEC_EXAMPLE =
      """
      {
        "version": 7,
        "auth": {"required": true, "realm": "Tollgate",
                 "users": {"alice": "HASH", "bob": "$2b$12$0123456789./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"},
                 "groups": {"staff": ["alice", "bob"]}},
        "rules": [
          {"id": "block-ads", "action": "deny", "hosts": ["ads.example.com", "*.doubleclick.net"]},
          {"id": "staff-internal", "action": "allow", "hosts": ["10.0.0.0/8"], "ports": [80, 443, "8000-8999"], "groups": ["staff"]},
          {"id": "bank", "action": "tunnel", "hosts": ["*.bank.example"]},
          {"id": "inspect", "action": "intercept", "hosts": ["*.example.org"], "methods": ["CONNECT"], "users": ["bob"]}
        ],
        "default": "allow",
        "network": {"allowPrivate": ["127.0.0.0/8"]},
        "limits": {"default": {"maxTunnels": 100, "requestsPerSecond": 50, "burst": 100, "bytesPerSecond": 10485760},
                   "users": {"alice": {"maxTunnels": 10}}, "groups": {"staff": {"requestsPerSecond": 200}}},
        "timeouts": {"connect": "10s", "idle": "5m", "maxLifetime": "1h", "header": "30s"},
        "enforceOnOpenTunnels": false
      }
      """;
}
