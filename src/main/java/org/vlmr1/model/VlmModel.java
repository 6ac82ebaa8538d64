// What the trainer needs from a family's model: hidden states for a batch, the LM head, generation and parameters.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** A vision-language model the GRPO trainer can sample from and train. */
public interface VlmModel extends AutoCloseable {
  /**
   * The final-norm hidden states (B, L, H) of a left-padded batch, with autograd when parameters require grad.
   *
   * @param multimodal the family's tensors by VLM-R1 name (Qwen: pixel_values and image_grid_thw)
   */
  Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal);

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
  Tensor imageEmbeds(Map<String, Tensor> multimodal);

  /**
   * The final-norm hidden states of positions {@code from..L-1} only, (B, L - from, H): what the GRPO loss needs
   * (completion positions), without normalising or keeping the prompt's image-token positions. With {@code from > 0}
   * the tokens after position {@code from} are generated text: image placeholder ids there are ordinary tokens, as
   * generation embedded them (transformers would count them as image slots and fail).
   */
  Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, int from);

  /**
   * {@link #lastHidden(Tensor, Tensor, Map, int)} with gradient checkpointing ({@code --gradient_checkpointing}): the
   * forward keeps only each decoder layer's input; {@link CheckpointedPass#backward} recomputes the layers one at a
   * time. Families without it refuse.
   */
  default CheckpointedPass lastHiddenCheckpointed(Tensor inputIds, Tensor attentionMask,
      Map<String, Tensor> multimodal, int from) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not support gradient checkpointing");
  }

  /**
   * What {@code bin/vlmr1 forward} writes for a prepared batch: {@code logits} (B, L, V) float32 and the family's own
   * outputs under their Hugging Face names (Qwen: vision_embeds, position_ids, rope_deltas; InternVL: vision_embeds).
   */
  Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal);

  /** The LM head's weight (V, H); the embedding itself when tied. */
  Tensor lmHead();

  /** Whether {@link #lmHead} is the token embedding (then its gradient also comes from the embedding lookup). */
  boolean lmHeadTied();

  /**
   * What generation returns: rows of ids padded after EOS and their mask (1 through the first EOS on the completion
   * part).
   */
  record Generation(long[][] ids, long[][] mask) {
    /** Columns {@code from..} of every row: the completion part of a prompt + completion generation. */
    public Generation from(int from) {
      long[][] i = new long[ids.length][];
      long[][] m = new long[mask.length][];
      for (int r = 0; r < ids.length; r++) {
        i[r] = java.util.Arrays.copyOfRange(ids[r], Math.min(from, ids[r].length), ids[r].length);
        m[r] = java.util.Arrays.copyOfRange(mask[r], Math.min(from, mask[r].length), mask[r].length);
      }
      return new Generation(i, m);
    }

    /** Row r of the row-major (B, l) {@code prompt} followed by {@code rows[r]}. */
    public static long[][] prefixed(long[] prompt, long[][] rows, int l) {
      return prefixed(prompt, Generator.identity(rows.length), rows, l);
    }

    /** Row {@code rowPrompt[r]} of the row-major (P, l) {@code prompt} followed by {@code rows[r]}. */
    public static long[][] prefixed(long[] prompt, int[] rowPrompt, long[][] rows, int l) {
      long[][] out = new long[rows.length][];
      for (int r = 0; r < rows.length; r++) {
        out[r] = new long[l + rows[r].length];
        System.arraycopy(prompt, rowPrompt[r] * l, out[r], 0, l);
        System.arraycopy(rows[r], 0, out[r], l, rows[r].length);
      }
      return out;
    }
  }

  /**
   * Samples completions, as transformers' generate does for the family: embeds-input families (the module's
   * isEmbedsInput) return the new tokens only, (B, N); the others prompt + new tokens, (B, L + N), with the prompt's
   * attention mask before the completion mask. The module's completions method takes the completions.
   */
  default Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      SamplingConfig cfg, long[] eosIds, long padId, long step, long firstSampleIndex) {
    return generate(inputIds, attentionMask, multimodal, cfg, eosIds, padId, step, firstSampleIndex,
        Generator.identity((int) inputIds.size(0)), GenerationOptions.DEFAULT);
  }

  /**
   * {@link #generate} of {@code rowPrompt.length} rows over a batch of distinct prompts (P rows of inputs): each
   * prompt is prefilled once, vision modules included, and row r continues prompt {@code rowPrompt[r]} with the
   * draws of global sample {@code firstSampleIndex + r}; the same tokens as generating from the prompts repeated.
   */
  Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, SamplingConfig cfg,
      long[] eosIds, long padId, long step, long firstSampleIndex, int[] rowPrompt, GenerationOptions options);

  /**
   * Saves the weights in the family's Hugging Face layout, with the source checkpoint's config and tokenizer files, so
   * transformers and vLLM load what was trained here.
   */
  void save(java.nio.file.Path out) throws java.io.IOException;

  /**
   * Moves the weights and any LoRA adapters onto {@code device} (--device), before training or generation starts;
   * every pass then places its batch, masks, positions and KV cache on {@link #device}. Families without placement
   * refuse any device but the CPU.
   */
  default void moveTo(org.bytedeco.pytorch.Device device) {
    if (!Devices.name(device).equals("cpu")) {
      throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be placed on "
          + Devices.name(device) + " (it runs on the CPU only)");
    }
  }

  /** The device the weights lie on (the LM head's): where this model's batches go. */
  default org.bytedeco.pytorch.Device device() {
    return lmHead().device();
  }

  /** Converts the floating weights (e.g. to bf16 for training). */
  void castTo(org.bytedeco.pytorch.global.torch.ScalarType dtype);

  /**
   * Adds LoRA adapters (--use_peft) to the linear layers {@link LoraTargets#select} picks, A drawn from {@code seed};
   * the model then owns them. Families without adapter support refuse.
   *
   * @param visionKeywords the family module's vision keywords (excluded from the default targets)
   */
  default LoraAdapters addLora(LoraConfig cfg, java.util.List<String> visionKeywords, long seed) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not support LoRA adapters");
  }

  /**
   * Attaches given adapters (a resumed run's), replacing any the model has (the caller closes those); their modules
   * must be linear layers of the model with matching sizes.
   */
  default void attachLora(LoraAdapters adapters) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not support LoRA adapters");
  }

  /** The LM head's module path in transformers' layout (what a LoRA adapter on it is keyed by). */
  default String lmHeadModule() {
    return "lm_head";
  }

  /** The model's LoRA adapters, or null without them. */
  default LoraAdapters lora() {
    return null;
  }

  /** Parameters by checkpoint name (the tensors themselves; set requires_grad on them to train). */
  Map<String, Tensor> namedParameters();

  @Override
  void close();
}
