// Shared JMH state of the kernel benchmarks: shape and implementation parameters and the row's lifecycle.
package org.vlmr1.bench;

import java.util.concurrent.TimeUnit;
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
public abstract class RowJmh {
  @Param({"512", "2048"})
  public long rows;

  @Param({"151936"})
  public long vocab;

  @Param({"f32", "bf16"})
  public String dtype;

  @Param({"fused", "composite"})
  public String impl;

  Measured row;

  /** The benchmark row for the current parameters (the kernels suite's own rows). */
  abstract Measured create(boolean fused);

  @Setup(Level.Trial)
  public void setup() {
    TorchRuntime.load();
    row = create(impl.equals("fused"));
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    row.close();
  }
}
