package dev.tollgate.common.policy;

/**
 * A policy document that does not validate. {@link #path()} names the bad value as it is written in
 * the document ({@code rules[3].ports[0]}, {@code auth.users.alice}, {@code default}); the empty
 * path means the document as a whole.
 */
public final class PolicyException extends RuntimeException {
  private final String path;
  private final String problem;

  /**
   * @param path where the bad value is, empty for the whole document
   * @param problem what is wrong with it, one line; never the value of a secret
   */
  public PolicyException(String path, String problem) {
    super(path == null || path.isEmpty() ? problem : path + ": " + problem);
    this.path = path == null ? "" : path;
    this.problem = problem;
  }

  /** Where the bad value is, e.g. {@code rules[3].ports[0]}; empty for the whole document. */
  public String path() {
    return path;
  }

  /** What is wrong, without the path (the message is {@code path: problem}). */
  public String problem() {
    return problem;
  }
}
