package dev.tollgate.ingress.log;

import dev.tollgate.ingress.FailureResponder;
import io.vertx.core.http.HttpServerRequest;

/** Ends an exchange that failed: answers it (the one failure mapping) and logs what the client saw. */
public final class Exchanges {
  private Exchanges() {}

  public static void fail(HttpServerRequest request, AccessRecord record, AccessLog log, Throwable error) {
    var response = request.response();
    var failure = FailureResponder.toFailure(error);
    int status = response.headWritten() ? response.getStatusCode() : failure.status();
    record.failure(failure.reason());
    FailureResponder.respond(request, error)
        .onComplete(ar -> log.log(record, status, request.bytesRead(), response.bytesWritten()));
  }
}
