// A data-parallel run cannot go on: a peer died, never arrived, or a collective timed out.
package org.vlmr1.distributed;

/** Raised on every surviving rank, naming the rank, the operation and the timeout. */
public final class DistributedException extends RuntimeException {
  public DistributedException(String message, Throwable cause) {
    super(message, cause);
  }
}
