// What the trainer needs from a family's model: hidden states for a batch, the LM head, generation and parameters.
package org.vlmr1.model;

import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.module.GridThw;

/** A vision-language model the GRPO trainer can sample from and train. */
public interface VlmModel extends AutoCloseable {
  /**
   * The final-norm hidden states (B, L, H) of a left-padded batch, with autograd when parameters require grad.
   *
   * @param multimodal the family's tensors by VLM-R1 name (Qwen: pixel_values); grids one per image in batch order
   */
  Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, List<GridThw> grids);

  /**
   * Reserved multimodal key: the vision modules' output from {@link #imageEmbeds}, used instead of running them. With
   * frozen vision modules the trainer computes it once per rollout and reuses it in the generation, policy, old and
   * reference passes (the reference's tower is the same frozen tower); trainable parts after it still run.
   */
  String IMAGE_EMBEDS = "image_embeds";

  /**
   * The output of the modules named by the family's vision keywords for this batch (Qwen: the merged image features
   * (image tokens, H); InternVL: InternViT's select_layer states (flagged tiles, 1 + patches, C), before the trainable
   * mlp1), or null when the batch has no images. Call it without gradients.
   */
  Tensor imageEmbeds(Map<String, Tensor> multimodal, List<GridThw> grids);

  /**
   * The final-norm hidden states of positions {@code from..L-1} only, (B, L - from, H): what the GRPO loss needs
   * (completion positions), without normalising or keeping the prompt's image-token positions. With {@code from > 0}
   * the tokens after position {@code from} are generated text: image placeholder ids there are ordinary tokens, as
   * generation embedded them (transformers would count them as image slots and fail).
   */
  default Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, List<GridThw> grids,
      int from) {
    Tensor h = lastHidden(inputIds, attentionMask, multimodal, grids);
    return h.narrow(1, from, h.size(1) - from);
  }

  /**
   * Row-major (B, L) ids with every position after {@code from} replaced by -1 (no token), for finding image slots in
   * the prompt only; {@code ids} itself when {@code from} is 0.
   */
  static long[] promptOnly(long[] ids, int b, int l, int from) {
    if (from <= 0) {
      return ids;
    }
    long[] out = ids.clone();
    for (int r = 0; r < b; r++) {
      java.util.Arrays.fill(out, r * l + from + 1, (r + 1) * l, -1L);
    }
    return out;
  }

  /**
   * What {@code bin/vlmr1 forward} writes for a prepared batch: {@code logits} (B, L, V) float32 and the family's own
   * outputs under their Hugging Face names (Qwen: vision_embeds, position_ids, rope_deltas; InternVL: vision_embeds).
   */
  Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids);

  /** The LM head's weight (V, H); the embedding itself when tied. */
  Tensor lmHead();

  /** Whether {@link #lmHead} is the token embedding (then its gradient also comes from the embedding lookup). */
  boolean lmHeadTied();

  /** Completions of a batch: ids (B, N) padded after EOS, and the mask through the first EOS. */
  record Generation(long[][] ids, long[][] mask) {}

  Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, List<GridThw> grids,
      SamplingConfig cfg, long[] eosIds, long padId, long step, long firstSampleIndex);

  /**
   * Saves the weights in the family's Hugging Face layout, with the source checkpoint's config and tokenizer files, so
   * transformers and vLLM load what was trained here.
   */
  void save(java.nio.file.Path out) throws java.io.IOException;

  /** Converts the floating weights (e.g. to bf16 for training). */
  void castTo(org.bytedeco.pytorch.global.torch.ScalarType dtype);

  /** Parameters by checkpoint name (the tensors themselves; set requires_grad on them to train). */
  Map<String, Tensor> namedParameters();

  @Override
  void close();
}
