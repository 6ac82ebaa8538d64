// Memory of one training step, full fine-tuning against LoRA, with and without gradient checkpointing: bin/vlmr1 bench
// memory prints it for Qwen2.5-VL-3B, Qwen2.5-VL-7B and InternVL3-8B (dimensions from docs/ARCHITECTURES.md and the
// public config.json files). An estimate of what must be resident, not a measurement; allocator slack is not in it.
package org.vlmr1.bench;

import java.util.List;

/** Bytes of weights, gradients, AdamW state and activations of a decoder VLM training step. */
public final class MemoryModel {
  private MemoryModel() {}

  /**
   * A decoder (Qwen2-style: q/k/v biases, SwiGLU MLP, RMSNorm) plus a vision tower counted as a whole.
   *
   * @param visionParams vision tower and projector parameters (trained too under full fine-tuning)
   */
  public record Arch(String name, long vocab, long hidden, int layers, int heads, int kvHeads, long intermediate,
      boolean tied, long visionParams) {
    public Arch {
      if (hidden % heads != 0 || heads % kvHeads != 0 || layers < 1 || vocab < 1 || intermediate < 1) {
        throw new IllegalArgumentException(name + ": hidden " + hidden + " must split into " + heads + " heads, "
            + "heads into " + kvHeads + " KV heads; layers, vocab, intermediate >= 1");
      }
    }

    long kvDim() {
      return kvHeads * (hidden / heads);
    }

    /** One decoder layer: 2 norms, q/k/v with biases, o, gate/up/down. */
    public long layerParams() {
      long h = hidden;
      return 2 * h + (h * h + h) + 2 * (kvDim() * h + kvDim()) + h * h + 3 * h * intermediate;
    }

    /** Embedding, untied head, layers, final norm, vision tower. */
    public long params() {
      return vocab * hidden * (tied ? 1 : 2) + layers * layerParams() + hidden + visionParams;
    }

    /** LoRA rank r on every decoder linear (q, k, v, o, gate, up, down): r x (in + out) each. */
    public long loraParams(int r) {
      long h = hidden;
      long perLayer = (h + h) + 2 * (h + kvDim()) + (h + h) + 2 * (h + intermediate) + (intermediate + h);
      return (long) r * perLayer * layers;
    }

    /** {@link #loraParams(int)} plus, with {@code head}, the LM head's adapter r x (H + V) (VLM-R1's default rule). */
    public long loraParams(int r, boolean head) {
      return loraParams(r) + (head ? (long) r * (hidden + vocab) : 0);
    }

    /**
     * Elements one decoder layer keeps per token for its backward: norm inputs and outputs (4H), q/k/v (H + 2 kv),
     * attention output (H), gate/up/activation/product (4I) and the attention probabilities (heads x T), which SDPA's
     * math path keeps; its flash CPU kernel keeps only a logsumexp, so that term is an upper bound. Vision-tower
     * activations (image tokens only) are left out.
     */
    public long layerActivationElements(long seqLen) {
      return 6 * hidden + 2 * kvDim() + 4 * intermediate + heads * seqLen;
    }
  }

  /** Qwen2.5-VL's vision tower: patch embedding, blocks (SwiGLU, biases), RMSNorm + 2-layer merger to {@code out}. */
  public static long qwenVisionParams(long hidden, long intermediate, int depth, long out) {
    long patch = hidden * 3 * 2 * 14 * 14;
    long block = 2 * hidden + (3 * hidden * hidden + 3 * hidden) + (hidden * hidden + hidden)
        + 2 * (intermediate * hidden + intermediate) + (hidden * intermediate + hidden);
    long m = 4 * hidden;
    long merger = hidden + (m * m + m) + (out * m + out);
    return patch + depth * block + merger;
  }

  /** InternViT-300M-448px (24 layers of 1024, MLP 4096, layer scale) plus InternVL's mlp1 projector to {@code out}. */
  public static long internVit300mParams(long out) {
    long h = 1024;
    long embed = h * 3 * 14 * 14 + h + h + 1025 * h; // patch conv + bias, class token, 1025 positions
    long layer = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (4 * h * h + 4 * h) + (4 * h * h + h);
    long in = 4 * h; // pixel shuffle 0.5: 4 x 1024
    long mlp1 = 2 * in + (out * in + out) + (out * out + out);
    return embed + 24 * layer + mlp1;
  }

  /** Qwen2.5-VL-3B-Instruct (ARCHITECTURES.md A1). */
  public static final Arch QWEN2_5_VL_3B = new Arch("Qwen2.5-VL-3B", 151_936, 2048, 36, 16, 2, 11_008, true,
      qwenVisionParams(1280, 3420, 32, 2048));
  /** Qwen2.5-VL-7B-Instruct (ARCHITECTURES.md A1, cross-check paragraph). */
  public static final Arch QWEN2_5_VL_7B = new Arch("Qwen2.5-VL-7B", 152_064, 3584, 28, 28, 4, 18_944, false,
      qwenVisionParams(1280, 3420, 32, 3584));
  /** InternVL3-8B: InternViT-300M + Qwen2.5-7B (ARCHITECTURES.md B table; vocabulary 151,674). */
  public static final Arch INTERNVL3_8B = new Arch("InternVL3-8B", 151_674, 3584, 28, 28, 4, 18_944, false,
      internVit300mParams(3584));

  /** Trainable weights: FULL fine-tuning (all, vision included) or LORA (adapters only, base frozen). */
  public enum Mode { FULL, LORA }

  /**
   * What a step is estimated for.
   *
   * @param loraRank r (LORA only); loraHead whether the LM head carries an adapter (VLM-R1's default targets do)
   * @param weightBytes bytes per base weight element (2 for bf16, 4 for f32); actBytes per activation element
   * @param tokens B x T tokens of the micro-batch; seqLen T (for the attention probabilities)
   * @param lossRows the rows of the fused loss, B x C (the completion positions only)
   * @param reference beta > 0: the reference model (FULL: a second frozen copy; LORA: the policy with adapters off)
   */
  public record Setup(Mode mode, int loraRank, boolean loraHead, boolean checkpointing, int weightBytes, int actBytes,
      long tokens, long seqLen, long lossRows, boolean reference) {
    public Setup {
      if ((weightBytes != 2 && weightBytes != 4) || (actBytes != 2 && actBytes != 4) || tokens < 1 || seqLen < 1
          || lossRows < 0 || (mode == Mode.LORA && loraRank < 1)) {
        throw new IllegalArgumentException("weightBytes and actBytes 2 or 4, tokens and seqLen >= 1, lossRows >= 0, "
            + "LoRA rank >= 1");
      }
    }
  }

  /**
   * A step's memory at its peak: what lives through the step (weights, the reference copy, gradients, masters, AdamW
   * state) plus the larger of the loss stage's working set (activations, the LM head in the fused loss, the logits
   * chunk) and the optimizer step's (libtorch's AdamW makes two temporaries the size of the parameter it updates,
   * float32 under masters: measured, the full fine-tuning peak comes there). Generation holds less than either: a KV
   * cache far smaller than the activations, no gradients in flight. Not counted: the runtime (JVM, libtorch), the
   * allocator's retained free memory, the vision tower's activations.
   *
   * @param reference FULL with beta > 0: the frozen second copy
   * @param head the fused loss's LM-head working set: its float32 dW (V x H', H' = H + r for a LoRA head used
   *     widened with its dropout pair), dW cast to the weight dtype for autograd, and the widened head itself
   * @param logits the fused loss's float32 logits chunk (rows per chunk as GrpoKernels.chunkRows picks them)
   * @param optimizerStep AdamW's two temporaries for the largest trainable tensor
   */
  public record Estimate(long weights, long reference, long gradients, long adamMoments, long masters,
      long activations, long head, long logits, long optimizerStep) {
    public long total() {
      return weights + reference + gradients + adamMoments + masters
          + Math.max(activations + head + logits, optimizerStep);
    }
  }

  /**
   * Weights at {@code weightBytes} (LoRA adapters too, in the model's dtype); trainable parameters get gradients at
   * {@code weightBytes}, and when the weights are not f32, f32 masters and the masters' f32 gradients; AdamW's two f32
   * moments; activations at {@code actBytes} per element for every layer, or (checkpointing) each layer's input plus
   * one layer's full set during its recompute; the fused loss's head working set and logits chunk.
   */
  public static Estimate estimate(Arch a, Setup s) {
    long p = a.params();
    boolean lora = s.mode() == Mode.LORA;
    long trainable = lora ? a.loraParams(s.loraRank(), s.loraHead()) : p;
    int wb = s.weightBytes();
    long weights = p * wb + (lora ? trainable * wb : 0);
    long reference = !lora && s.reference() ? p * wb : 0;
    long masters = wb != 4 ? trainable * 4 : 0;
    long gradients = trainable * wb + masters;
    long perLayer = a.layerActivationElements(s.seqLen()) * s.tokens() * s.actBytes();
    long acts = s.checkpointing() ? a.layers() * a.hidden() * s.tokens() * s.actBytes() + perLayer
        : a.layers() * perLayer;
    boolean widened = lora && s.loraHead();
    long headCols = a.hidden() + (widened ? s.loraRank() : 0);
    long head = a.vocab() * headCols * (4L + (wb != 4 ? wb : 0) + (widened ? wb : 0));
    long chunk = Math.min(s.lossRows(), org.vlmr1.kernels.GrpoKernels.chunkRows(s.lossRows(), a.vocab(), wb,
        org.vlmr1.kernels.GrpoKernels.LOGITS_BUDGET_BYTES));
    // the largest trainable tensor: the embedding / head (V x H) under full fine-tuning, else the head adapter's B
    // (V x r) or the MLP adapters' (I x r)
    long largest = !lora ? a.vocab() * a.hidden()
        : (long) s.loraRank() * (s.loraHead() ? Math.max(a.vocab(), a.intermediate()) : a.intermediate());
    return new Estimate(weights, reference, gradients, trainable * 8, masters, acts, head, chunk * a.vocab() * 4,
        2 * largest * 4);
  }

  /**
   * The table bin/vlmr1 bench memory prints (GiB), at B x T = {@code batch} x {@code seqLen} with half of T completion
   * (the fused loss's rows), beta > 0 (a reference), LoRA on VLM-R1's default targets (the LM head included).
   */
  public static String table(int batch, long seqLen, int loraRank) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("| model | params | mode | dtype | weights | reference | grads | AdamW | masters "
        + "| acts (no ckpt) | acts (ckpt) | head | logits | total (no ckpt) | total (ckpt) |%n"));
    sb.append(String.format("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|%n"));
    long tokens = (long) batch * seqLen;
    for (Arch a : List.of(QWEN2_5_VL_3B, QWEN2_5_VL_7B, INTERNVL3_8B)) {
      for (Mode mode : Mode.values()) {
        for (int wb : new int[] {4, 2}) {
          Estimate off = estimate(a, new Setup(mode, loraRank, true, false, wb, wb, tokens, seqLen, tokens / 2, true));
          Estimate on = estimate(a, new Setup(mode, loraRank, true, true, wb, wb, tokens, seqLen, tokens / 2, true));
          sb.append(String.format("| %s | %.2f B | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
              a.name(), a.params() / 1e9, mode == Mode.FULL ? "full" : "LoRA r" + loraRank, wb == 4 ? "f32" : "bf16",
              gib(off.weights()), gib(off.reference()), gib(off.gradients()), gib(off.adamMoments()),
              gib(off.masters()), gib(off.activations()), gib(on.activations()), gib(off.head()), gib(off.logits()),
              gib(off.total()), gib(on.total())));
        }
      }
    }
    return sb.toString();
  }

  private static String gib(long bytes) {
    return String.format("%.1f", bytes / (double) (1L << 30));
  }
}
