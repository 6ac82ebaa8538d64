// HeadGradient against autograd through the full logits: tied and untied heads, over two micro-batches.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vlmr1.kernels.CompositeKernels;
import org.vlmr1.kernels.GrpoHiddenLossResult;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.GrpoLossResult;

class HeadGradientTest {
  private static final long B = 2;
  private static final long T = 4;
  private static final long H = 8;
  private static final long V = 40;

  /**
   * A tiny LM, logits = tanh(E[x] M) W^T with W = E when tied. The reference runs autograd through the full logits of
   * two micro-batches; the trainer's way runs the fused kernel, {@link HeadGradient#accumulate} and the backward
   * through the model, in the trainer's order (head first) or the SFT trainer's (model first).
   */
  @ParameterizedTest(name = "tied={0} headFirst={1}")
  @CsvSource({"true, true", "true, false", "false, true", "false, false"})
  void matchesAutogradThroughTheLogits(boolean tied, boolean headFirst) {
    long seed = System.nanoTime() & 0xffffffffL;
    String fixed = System.getProperty("vlmr1.test.seed");
    if (fixed != null) {
      seed = Long.parseLong(fixed);
    }
    torch.manual_seed(seed);
    System.out.println("HeadGradientTest tied=" + tied + ": seed " + seed + " (replay with -Dvlmr1.test.seed=" + seed
        + ")");
    try (PointerScope s = new PointerScope()) {
      Tensor embed = torch.randn(V, H).mul(new Scalar(0.5)).set_requires_grad(true);           // (V, H)
      Tensor untied = torch.randn(V, H).mul(new Scalar(0.5)).set_requires_grad(true);          // (V, H)
      Tensor mix = torch.randn(H, H).mul(new Scalar(0.3)).set_requires_grad(true);             // (H, H)
      Tensor head = tied ? embed : untied;
      GrpoLossConfig cfg = GrpoLossConfig.builder().beta(0.04).build();
      Tensor[][] batches = new Tensor[2][];
      for (int m = 0; m < 2; m++) {
        batches[m] = new Tensor[] {randIds(B * T), randIds(B * T).reshape(B, T), torch.ones(B, T), torch.randn(B),
            torch.randn(B, T).sub(new Scalar(4))};
      }

      // Reference: autograd through the materialised logits of both micro-batches.
      for (Tensor[] x : batches) {
        Tensor hidden = torch.tanh(torch.embedding(embed, x[0]).mm(mix));                     // (B*T, H)
        Tensor logits = hidden.mm(head.t()).reshape(B, T, V);                                 // (B, T, V)
        GrpoLossResult r = CompositeKernels.grpoLoss(logits, x[1], x[2], x[3], null, x[4], cfg, null);
        logits.backward(r.gradLogits(), new BoolOptional(), false, null);
      }
      Tensor embedRef = embed.grad().clone();
      Tensor mixRef = mix.grad().clone();
      Tensor untiedRef = tied ? null : untied.grad().clone();
      for (Tensor p : new Tensor[] {embed, untied, mix}) {
        p.mutable_grad().put(new Tensor()); // the trainers' zero_grad sets gradients to none
      }

      // The trainer's way: fused kernel, head gradient straight into .grad, backward through the model.
      for (Tensor[] x : batches) {
        Tensor hidden = torch.tanh(torch.embedding(embed, x[0]).mm(mix));                     // (B*T, H)
        GrpoHiddenLossResult f = GrpoKernels.grpoLossFromHidden(hidden.detach().reshape(B, T, H).contiguous(),
            head.detach(), x[1], x[2], x[3], null, x[4], cfg, 3);
        if (headFirst) {
          HeadGradient.accumulate(head, f.gradWeight());
        }
        hidden.backward(f.gradHidden().reshape(B * T, H), new BoolOptional(), false, null);
        if (!headFirst) {
          HeadGradient.accumulate(head, f.gradWeight());
        }
      }
      assertClose("embedding grad", embedRef, embed.grad());
      assertClose("model grad", mixRef, mix.grad());
      if (!tied) {
        assertClose("untied head grad", untiedRef, untied.grad());
      }
      assertFalse(embed.grad().requires_grad(), "a gradient must not itself need a gradient");
    }
  }

  @org.junit.jupiter.api.Test
  void rejectsAGradientOfAnotherShapeOrDtype() {
    try (PointerScope s = new PointerScope()) {
      Tensor head = torch.zeros(V, H).set_requires_grad(true);
      assertThrows(IllegalArgumentException.class, () -> HeadGradient.accumulate(head, torch.zeros(V, H + 1)));
      assertThrows(IllegalArgumentException.class,
          () -> HeadGradient.accumulate(head, torch.zeros(V, H).to(torch.ScalarType.Double)));
      assertFalse(head.grad().defined());
    }
  }

  private static Tensor randIds(long n) {
    return torch.randint(V, new long[] {n}, new TensorOptions(torch.ScalarType.Long));
  }

  /** |actual - expected| <= 1e-4 * max|expected| elementwise (float32 sums in a different order). */
  private static void assertClose(String what, Tensor expected, Tensor actual) {
    double scale = expected.abs().max().item_double();
    double diff = expected.sub(actual).abs().max().item_double();
    assertTrue(scale > 0, what + ": the reference gradient is all zero");
    assertTrue(diff <= 1e-4 * scale, what + ": max |diff| " + diff + " > 1e-4 x " + scale);
  }
}
