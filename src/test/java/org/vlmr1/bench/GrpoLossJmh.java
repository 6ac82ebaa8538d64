// JMH benchmark of grpoLoss forward + backward (GRPO, beta 0.04, reference log-probs), fused vs composite (never run by the default build; see README "Benchmarks").
package org.vlmr1.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.vlmr1.kernels.TorchRuntime;

@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-DOPT_OUT_TRACKING=true"})
public class GrpoLossJmh {
  @Param({"512", "2048"})
  long rows;

  @Param({"151936"})
  long vocab;

  @Param({"f32", "bf16"})
  String dtype;

  @Param({"fused", "composite"})
  String impl;

  private Measured row;

  @Setup(Level.Trial)
  public void setup() {
    TorchRuntime.load();
    row = new KernelsSuite.LossRow(rows / 256, 256, vocab, dtype, impl.equals("fused"));
  }

  @Benchmark
  public void grpoLoss() {
    row.run();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    row.close();
  }
}
