// The one GRPO training loop (nanoGPT's single loop): steps until max_steps, each timed, with hooks for progress,
// logging, checkpoints and stopping. `train`, the demo and GrpoTrainer.train all run it, so what a loop must do
// (signal handling, locking, ...) is added in one place.
package org.vlmr1.trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Runs a trainer's steps. */
public final class TrainingLoop {
  private TrainingLoop() {}

  /** What a caller adds around the steps. In a data-parallel run every rank calls every hook. */
  public interface Hooks {
    /**
     * After each step.
     *
     * @param seconds the step's wall time
     * @param loggingStep whether the step is a multiple of logging_steps, or the last
     */
    default void afterStep(StepMetrics m, double seconds, boolean loggingStep) throws IOException {}

    /** Whether to save a checkpoint after step {@code m}. */
    default boolean saveAfter(StepMetrics m) {
      return false;
    }

    /** Saves the checkpoint of step {@code m}; {@code history} holds this run's steps so far. */
    default void save(StepMetrics m, List<StepMetrics> history) throws IOException {}

    /** Checked before each step: true ends the loop early. */
    default boolean stopRequested() {
      return false;
    }
  }

  /** Hooks that print one line per logging step (the library's default). */
  public static final Hooks PRINT = new Hooks() {
    @Override
    public void afterStep(StepMetrics m, double seconds, boolean loggingStep) {
      if (loggingStep) {
        System.out.printf("step %d  loss %.4f  reward %.4f  kl %.4f  len %.1f  grad_norm %.3f  lr %.2e  %.1fs%s%n",
            m.step(), m.loss(), m.reward(), m.kl(), m.completionLength(), m.gradNorm(), m.learningRate(), seconds,
            m.skipped() ? "  (skipped)" : "");
      }
    }
  };

  /** Steps {@code trainer} until its max_steps (or a stop request); returns this call's step metrics. */
  public static List<StepMetrics> run(GrpoTrainer trainer, Hooks hooks) throws IOException {
    GrpoConfig cfg = trainer.config();
    List<StepMetrics> history = new ArrayList<>();
    while (trainer.stepsDone() < cfg.maxSteps() && !hooks.stopRequested()) {
      long t0 = System.nanoTime();
      StepMetrics m = trainer.step();
      double seconds = (System.nanoTime() - t0) / 1e9;
      history.add(m);
      hooks.afterStep(m, seconds, m.step() % cfg.loggingSteps() == 0 || m.step() == cfg.maxSteps());
      if (hooks.saveAfter(m)) {
        hooks.save(m, history);
      }
    }
    return history;
  }
}
