// A command-line mistake: printed as one line on stderr, exit code 2.
package org.vlmr1.cli;

/** Thrown for bad command lines; the message is the whole user-facing explanation. */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
