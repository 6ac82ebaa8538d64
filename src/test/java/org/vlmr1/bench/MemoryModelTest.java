// MemoryModel's arithmetic on a config small enough to count by hand, and the 3B's parameter count.
package org.vlmr1.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MemoryModelTest {
  /** hidden 8, 1 layer, 2 heads (head_dim 4), 1 KV head (kv dim 4), MLP 16, vocabulary 10, tied, vision 100. */
  static final MemoryModel.Arch SMALL = new MemoryModel.Arch("small", 10, 8, 1, 2, 1, 16, true, 100);

  @Test
  void parametersCountedByHand() {
    // norms 2x8=16; q 8x8+8=72; k 4x8+4=36; v 36; o 64; gate/up/down 3x8x16=384
    assertEquals(16 + 72 + 36 + 36 + 64 + 384, SMALL.layerParams());
    // tied embedding 80 + layer 608 + final norm 8 + vision 100
    assertEquals(80 + 608 + 8 + 100, SMALL.params());
    // r=2: q 2(8+8)=32, k 2(8+4)=24, v 24, o 32, gate 2(8+16)=48, up 48, down 48
    assertEquals(32 + 24 + 24 + 32 + 48 + 48 + 48, SMALL.loraParams(2));
    // per token: 6H=48, 2kv=8, 4I=64, heads x T = 2 x 4 = 8
    assertEquals(48 + 8 + 64 + 8, SMALL.layerActivationElements(4));
  }

  @Test
  void fullFineTuningInBf16() {
    long p = 796;
    long tokens = 3 * 4;
    MemoryModel.Estimate e = MemoryModel.estimate(SMALL, new MemoryModel.Setup(MemoryModel.Mode.FULL, 0, false, false,
        2, 2, tokens, 4, 6, true));
    assertEquals(2 * p, e.weights());
    assertEquals(2 * p, e.reference(), "beta > 0: a frozen second copy");
    assertEquals(4 * p, e.masters());
    assertEquals(2 * p + 4 * p, e.gradients(), "bf16 gradients and the masters' f32 ones");
    assertEquals(8 * p, e.adamMoments());
    assertEquals(1 * 128 * tokens * 2, e.activations());
    assertEquals(10 * 8 * (4 + 2), e.head(), "the fused loss's f32 dW (V x H) and its bf16 cast");
    assertEquals(6 * 10 * 4, e.logits(), "one chunk of the 6 loss rows, float32");
    assertEquals(2 * 10 * 8 * 4, e.optimizerStep(), "AdamW's two f32 temporaries of the V x H embedding");
    // the loss stage's working set (activations, head, logits) is larger than the optimizer step's here
    assertEquals(22 * p + Math.max(128 * 12 * 2 + 480 + 240, 640), e.total());
  }

  @Test
  void loraWithCheckpointingInF32() {
    long p = 796;
    long lora = 256 + 2 * (8 + 10); // the decoder's adapters and the head's, r x (H + V)
    long tokens = 12;
    assertEquals(lora, SMALL.loraParams(2, true));
    MemoryModel.Estimate e = MemoryModel.estimate(SMALL, new MemoryModel.Setup(MemoryModel.Mode.LORA, 2, true, true,
        4, 4, tokens, 4, 6, true));
    assertEquals(4 * p + 4 * lora, e.weights());
    assertEquals(0, e.reference(), "the reference is the policy with its adapters off");
    assertEquals(4 * lora, e.gradients());
    assertEquals(8 * lora, e.adamMoments());
    assertEquals(0, e.masters(), "f32 weights need no masters");
    // each layer's input (1 x 8 per token) plus one layer's full set during its recompute
    assertEquals(8 * tokens * 4 + 128 * tokens * 4, e.activations());
    // the widened head (V x (H + r)): its f32 dW and the widened copy
    assertEquals(10 * (8 + 2) * (4 + 4), e.head());
    // the largest adapter tensor: the MLP's, I x r = 16 x 2 (the head's B is V x r = 10 x 2)
    assertEquals(2 * (16 * 2) * 4, e.optimizerStep());
  }

  @Test
  void qwen25Vl3bMatchesItsPublishedCount() {
    // the sum of docs/ARCHITECTURES.md A1's tensor shapes (Qwen3bShapeTest checks the same number from the writer)
    assertEquals(3_754_622_976L, MemoryModel.QWEN2_5_VL_3B.params());
  }
}
