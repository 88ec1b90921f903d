package dev.tollgate.ingress.log;

import dev.tollgate.common.policy.Decision;

/**
 * What one request has gathered for its access-log line, filled in as it goes through the proxy.
 * Confined to the request's event loop.
 */
public final class AccessRecord {
  final long startNanos = System.nanoTime();
  final long startMillis = System.currentTimeMillis();
  final String client;
  final String method;
  String target = "-";
  String user;
  Decision decision;
  String failure;

  public AccessRecord(String client, String method) {
    this.client = client;
    this.method = method;
  }

  public AccessRecord target(String target) {
    this.target = target;
    return this;
  }

  public AccessRecord user(String user) {
    this.user = user;
    return this;
  }

  /** The reason of the failure the client was answered with (for the metrics' denial kinds). */
  public AccessRecord failure(String reason) {
    this.failure = reason;
    return this;
  }

  public AccessRecord decision(Decision decision) {
    this.decision = decision;
    return this;
  }
}
