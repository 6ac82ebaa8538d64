// The CUDA provider's error path without a GPU (issue 17): status codes become the CPU kernels' exception types with
// the library's message, and the non-finite log-prob error a CUDA kernel can only count is rebuilt to read exactly
// as the CPU kernel's (compared with the native CPU kernel's own message on the same inputs). CudaStatus did not
// exist on the old code (the test does not compile there).
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorIndex;
import org.bytedeco.pytorch.TensorIndexVector;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class CudaStatusTest {
  @Test
  void statusCodes() {
    assertNull(CudaStatus.error(0, "grpo_loss", ""));
    RuntimeException bad = CudaStatus.error(1, "grpo_loss", "grpo_loss: vocab must be >= 1, got 0");
    assertTrue(bad instanceof IllegalArgumentException, bad.toString());
    assertEquals("grpo_loss: vocab must be >= 1, got 0", bad.getMessage());
    assertEquals("token_logprobs: dtype 7", CudaStatus.error(1, "token_logprobs", "dtype 7").getMessage());
    RuntimeException launch = CudaStatus.error(2, "token_logprobs", "too many resources requested for launch");
    assertTrue(launch instanceof IllegalStateException, launch.toString());
    assertEquals("CUDA launch failed in token_logprobs: too many resources requested for launch",
        launch.getMessage());
    assertEquals("CUDA kernel returned unknown status 9 in sample_draw: (no message)",
        CudaStatus.error(9, "sample_draw", null).getMessage());
  }

  @Test
  void cFloatPrintsAsStdToString() {
    assertEquals("-inf", CudaStatus.cFloat(Float.NEGATIVE_INFINITY));
    assertEquals("inf", CudaStatus.cFloat(Float.POSITIVE_INFINITY));
    assertEquals("nan", CudaStatus.cFloat(Float.NaN));
    assertEquals("-1.500000", CudaStatus.cFloat(-1.5f));
    assertEquals("0.000000", CudaStatus.cFloat(0f));
  }

  /** The CPU kernel throws on an unmasked -inf log-prob; the CUDA provider's rebuilt message must be the same text. */
  @Test
  void nonFiniteMessageMatchesTheCpuKernel() {
    assumeTrue(GrpoKernels.backend() == KernelBackend.NATIVE, "needs the native CPU kernels to compare with");
    long seed = System.nanoTime();
    System.out.println("seed " + seed);
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(seed);
      long b = 2;
      long t = 4;
      long v = 11;
      Tensor logits = torch.randn(b, t, v);                                                      // (B, T, V)
      Tensor ids = torch.randint(v, new long[] {b, t}, new TensorOptions(ScalarType.Long));     // (B, T)
      long bi = 1;
      long ti = 2;
      long id = ids.get(bi).get(ti).item_long();
      logits.index_put_(new TensorIndexVector(new TensorIndex(bi), new TensorIndex(ti), new TensorIndex(id)),
          new Scalar(Float.NEGATIVE_INFINITY));
      Tensor mask = torch.ones(b, t);                                                            // (B, T)
      Tensor adv = torch.randn(b);                                                               // (B)
      Tensor old = torch.randn(b, t).sub(new Scalar(2));                                         // (B, T)
      Tensor ref = torch.randn(b, t).sub(new Scalar(3));                                         // (B, T)
      GrpoLossConfig cfg = GrpoLossConfig.builder().beta(0.04).build();
      String cpu = assertThrows(IllegalArgumentException.class,
          () -> GrpoKernels.grpoLoss(logits, ids, mask, adv, old, ref, cfg)).getMessage();
      Tensor logps = CompositeKernels.tokenLogProbs(logits.reshape(b * t, v), ids.reshape(b * t), 1.0, false)
          .logProbs().reshape(b, t);                                                             // (B, T)
      assertEquals(cpu, CudaStatus.nonFiniteMessage(logps, mask, old, ref, ids));
      assertTrue(cpu.contains("token " + (bi * t + ti)) && cpu.contains("policy -inf"), cpu);
      // masked out, it is no error
      mask.index_put_(new TensorIndexVector(new TensorIndex(bi), new TensorIndex(ti)), new Scalar(0));
      assertNull(CudaStatus.nonFiniteMessage(logps, mask, old, ref, ids));
    }
  }
}
