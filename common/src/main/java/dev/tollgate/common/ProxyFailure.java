package dev.tollgate.common;

/**
 * The one failure type of the proxy path: it carries the HTTP status the client gets and a short
 * reason, sent as the body and in {@code X-Tollgate-Reason}. Mapped to a response in exactly one
 * place (the ingress {@code FailureResponder}).
 */
public final class ProxyFailure extends RuntimeException {

  /** What went wrong, which fixes the status. */
  public enum Kind {
    BAD_REQUEST(400),
    DENIED(403),
    AUTH_REQUIRED(407),
    PAYLOAD_TOO_LARGE(413),
    URI_TOO_LONG(414),
    /** A terminating listener has no route for the host, or the host is not the TLS server name. */
    MISDIRECTED(421),
    LIMIT(429),
    HEADERS_TOO_LARGE(431),
    UPSTREAM(502),
    UNAVAILABLE(503),
    TIMEOUT(504);

    private final int status;

    Kind(int status) {
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private final Kind kind;
  private final String reason;
  private final String challenge;
  private long retryAfterSeconds = -1;

  public ProxyFailure(Kind kind, String reason) {
    this(kind, reason, null);
  }

  public ProxyFailure(Kind kind, String reason, Throwable cause) {
    this(kind, reason, cause, null);
  }

  private ProxyFailure(Kind kind, String reason, Throwable cause, String challenge) {
    super(kind + ": " + reason, cause, false, false);
    this.kind = kind;
    this.reason = reason;
    this.challenge = challenge;
  }

  /** 407 with a {@code Proxy-Authenticate: Basic realm="…"} challenge. */
  public static ProxyFailure authRequired(String realm) {
    String safe = realm.replace("\\", "").replace("\"", "");
    return new ProxyFailure(Kind.AUTH_REQUIRED, "proxy authentication required", null, "Basic realm=\"" + safe + "\"");
  }

  /** 429 with a {@code Retry-After} of at least one second. */
  public static ProxyFailure limited(String reason, long retryAfterSeconds) {
    ProxyFailure f = new ProxyFailure(Kind.LIMIT, reason);
    f.retryAfterSeconds = Math.max(1, retryAfterSeconds);
    return f;
  }

  /** 503 with {@code Retry-After}: this node cannot take more now (full, or short of memory); others may. */
  public static ProxyFailure unavailable(String reason, long retryAfterSeconds) {
    ProxyFailure f = new ProxyFailure(Kind.UNAVAILABLE, reason);
    f.retryAfterSeconds = Math.max(1, retryAfterSeconds);
    return f;
  }

  /** The {@code Retry-After} seconds of a 429 or 503, else -1. */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  /** The {@code Proxy-Authenticate} value of a 407, else null. */
  public String challenge() {
    return challenge;
  }

  public Kind kind() {
    return kind;
  }

  public int status() {
    return kind.status;
  }

  /** One line, no secrets: safe to send to the client and to log. */
  public String reason() {
    return reason;
  }

  public static ProxyFailure badRequest(String reason) {
    return new ProxyFailure(Kind.BAD_REQUEST, reason);
  }

  public static ProxyFailure denied(String reason) {
    return new ProxyFailure(Kind.DENIED, reason);
  }

  public static ProxyFailure upstream(String reason, Throwable cause) {
    return new ProxyFailure(Kind.UPSTREAM, reason, cause);
  }

  /** 421: this listener does not serve the host the request names. */
  public static ProxyFailure misdirected(String reason) {
    return new ProxyFailure(Kind.MISDIRECTED, reason);
  }

  public static ProxyFailure timeout(String reason) {
    return new ProxyFailure(Kind.TIMEOUT, reason);
  }
}
