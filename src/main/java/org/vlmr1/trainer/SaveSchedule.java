// When a run saves: every save_steps optimizer steps and after the last one, but only where a generation round ends.
// A round (steps_per_generation x num_iterations optimizer steps) trains on rollouts that no checkpoint holds, so a
// checkpoint inside one could only resume by generating a different round; at round ends a resumed run is the
// uninterrupted one. A save_steps that falls inside a round is deferred to that round's end.
package org.vlmr1.trainer;

/**
 * @param saveSteps save every this many steps (0: only after the last step)
 * @param roundSteps optimizer steps per generation round (1 when every step generates)
 * @param maxSteps the last step, always saved
 */
public record SaveSchedule(int saveSteps, int roundSteps, int maxSteps) {
  public SaveSchedule {
    if (saveSteps < 0) {
      throw new IllegalArgumentException("--save_steps must be >= 0, got " + saveSteps);
    }
    if (roundSteps < 1) {
      throw new IllegalArgumentException("a generation round has at least one step, got " + roundSteps);
    }
  }

  /** The schedule of a trainer configuration. */
  public static SaveSchedule of(GrpoConfig cfg, int saveSteps) {
    return new SaveSchedule(saveSteps, cfg.stepsPerRound() * cfg.numIterations(), cfg.maxSteps());
  }

  /** Whether to save after optimizer step {@code step} (1-based). */
  public boolean saveAfter(int step) {
    if (step == maxSteps) {
      return true;
    }
    if (saveSteps == 0 || step % roundSteps != 0) {
      return false;
    }
    // a multiple of save_steps in this round's steps (step - roundSteps, step]
    return step / saveSteps > (step - roundSteps) / saveSteps;
  }

  /** A note for the console when save_steps falls inside rounds, else null. */
  public String deferralNote() {
    if (saveSteps == 0 || saveSteps % roundSteps == 0) {
      return null;
    }
    return "checkpoints at generation round ends: --save_steps " + saveSteps + " falls inside rounds of " + roundSteps
        + " steps (steps_per_generation x num_iterations), whose rollouts a checkpoint does not hold, so each save "
        + "waits for the end of its round";
  }
}
