// Batched generation for Qwen2-VL / Qwen2.5-VL over the shared decode loop (model.Generator): the prefill runs the
// vision tower and M-RoPE positions; each decode step places the new token at cache index + rope delta.
package org.vlmr1.module.qwen;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.model.Generator;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.module.GridThw;

/** Generation over a {@link QwenVlModel}. */
public final class QwenGenerator {
  private QwenGenerator() {}

  /**
   * @param firstSampleIndex the global index of row 0 (rows are firstSampleIndex + b), for the random streams
   * @param step the optimizer step, for the random streams
   */
  public static Generator.Result generate(QwenVlModel model, Tensor inputIds, Tensor attentionMask,
      Tensor pixelValues, List<GridThw> grids, SamplingConfig cfg, long[] eosIds, long padId, long step,
      long firstSampleIndex, boolean keepLogits) {
    return generate(model, inputIds, attentionMask, pixelValues, grids, cfg, eosIds, padId, step, firstSampleIndex,
        keepLogits, null);
  }

  /** {@link #generate} with image features computed earlier (or null to run the vision tower). */
  public static Generator.Result generate(QwenVlModel model, Tensor inputIds, Tensor attentionMask,
      Tensor pixelValues, List<GridThw> grids, SamplingConfig cfg, long[] eosIds, long padId, long step,
      long firstSampleIndex, boolean keepLogits, Tensor imageEmbeds) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] mask = attentionMask == null ? Generator.ones(b * l) : QwenVlModel.longs(attentionMask);
    Tensor[] deltas = new Tensor[1];
    Generator.Decoding d = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        QwenVlModel.Output o = model.forward(inputIds, attentionMask, pixelValues, grids, false, cache, imageEmbeds);
        deltas[0] = o.positions().ropeDeltas().clone();
        deltas[0].retainReference(); // outlives the prefill's PointerScope
        return torch.linear(o.hiddenStates().get(o.hiddenStates().size() - 1).select(1, l - 1),
            model.lmHead());                                                                     // (B, V)
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        return model.decode(tokens, fullMask, deltas[0], cache);
      }
    };
    try (KvCache cache = model.newCache()) {
      return Generator.run(d, cache, mask, b, l, cfg, eosIds, padId, step, firstSampleIndex, keepLogits);
    } finally {
      if (deltas[0] != null) {
        deltas[0].releaseReference();
      }
    }
  }
}
