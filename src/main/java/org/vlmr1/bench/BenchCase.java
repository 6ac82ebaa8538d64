// One row of a benchmark suite: what it measures, and how to prepare it (in the forked JVM that measures it).
package org.vlmr1.bench;

import java.util.Map;
import java.util.function.Supplier;

/**
 * @param id stable id within the suite, used to find the row again in the forked JVM
 * @param op operation name (CONVENTIONS.md: tokenLogProbs, grpoLoss, ...)
 * @param impl implementation: fused or composite (or the library measured, e.g. libtorch for copy)
 * @param shape "N=2048 V=151936" style; starts with N= where the op has rows
 * @param dtype f32 or bf16
 * @param prepare allocates the inputs and returns the measured work
 * @param jvmProperties system properties of the row's forked JVM (e.g. {@code vlmr1.kernels=composite} for a row
 *     that times the path before our kernels), beside the ones every row inherits
 */
public record BenchCase(String id, String op, String impl, String shape, String dtype, Supplier<Measured> prepare,
    Map<String, String> jvmProperties) {
  public BenchCase {
    jvmProperties = Map.copyOf(jvmProperties);
  }

  /** A row whose JVM has only the inherited properties. */
  public BenchCase(String id, String op, String impl, String shape, String dtype, Supplier<Measured> prepare) {
    this(id, op, impl, shape, dtype, prepare, Map.of());
  }
}
