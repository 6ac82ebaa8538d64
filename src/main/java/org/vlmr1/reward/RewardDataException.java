// A solution or example field a reward cannot use: a data error, reported with the example it came from.
package org.vlmr1.reward;

/** Thrown when an example's solution (or another field a reward needs) is malformed. */
public final class RewardDataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RewardDataException(RewardSample sample, String reward, String problem) {
    super(reward + ": " + sample.describe() + ": " + problem);
  }

  public RewardDataException(RewardSample sample, String reward, String problem, Throwable cause) {
    super(reward + ": " + sample.describe() + ": " + problem, cause);
  }
}
