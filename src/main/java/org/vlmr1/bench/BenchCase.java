// One row of a benchmark suite: what it measures, and how to prepare it (in the forked JVM that measures it).
package org.vlmr1.bench;

import java.util.function.Supplier;

/**
 * @param id stable id within the suite, used to find the row again in the forked JVM
 * @param op operation name (CONVENTIONS.md: tokenLogProbs, grpoLoss, ...)
 * @param impl implementation: fused or composite (or the library measured, e.g. libtorch for copy)
 * @param shape "N=2048 V=151936" style; starts with N= where the op has rows
 * @param dtype f32 or bf16
 * @param prepare allocates the inputs and returns the measured work
 */
public record BenchCase(String id, String op, String impl, String shape, String dtype, Supplier<Measured> prepare) {}
