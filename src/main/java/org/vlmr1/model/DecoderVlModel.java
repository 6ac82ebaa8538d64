// The skeleton every "image features placed in a decoder's token embeddings" family shares (Qwen2-VL/Qwen2.5-VL,
// InternVL, a new family): embed the ids, put the vision modules' features at the prompt's image slots, rotary
// positions, the shared Qwen2-shaped decoder, the LM head; batched generation over the same forward; save, cast and
// close over the weights. A family writes only its vision features, its positions and its extra outputs.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.LmHeadKernels;
import org.vlmr1.kernels.TensorChecks;

/** A {@link VlmModel} over a {@link Qwen2Decoder}. Build it outside a PointerScope; run each forward inside one. */
public abstract class DecoderVlModel implements VlmModel {
  protected final Weights weights;
  protected final Qwen2Decoder decoder;
  private final boolean embedsInput;
  private final String slotName;
  // the image slot token's id; the family module's postModelInit sets the one its prompts use
  private volatile long imageSlotId = -1;

  /**
   * The rotary positions of a prefill.
   *
   * @param ids position ids in the family's shape: (B, L) for 1-D RoPE, (3, B, L) for M-RoPE; padded positions 1
   * @param decodeOffset (B, 1) int64: a decode step at KV-cache index c sits at position c + offset (every generated
   *     token is attended, so this holds for 1-D RoPE's cumsum rule and M-RoPE's rope_deltas alike)
   */
  public record Positions(Tensor ids, Tensor decodeOffset) {}

  /**
   * @param logits (B, L - from, V), or null when not asked for
   * @param hiddenStates [inputs_embeds after image placement, layer outputs..., final-norm output], each (B, L, H);
   *     with from > 0 only the final-norm output (B, L - from, H)
   * @param visionEmbeds the image features as the family's vision modules gave them, or null without images
   * @param positions the rotary positions
   */
  public record Output(Tensor logits, List<Tensor> hiddenStates, Tensor visionEmbeds, Positions positions) {
    /** The final-norm hidden states. */
    public Tensor lastHidden() {
      return hiddenStates.get(hiddenStates.size() - 1);
    }
  }

  /**
   * @param embedsInput whether the family generates from input embeddings (transformers' generate then returns the
   *     new tokens only) rather than from ids (prompt + new tokens): the family module's isEmbedsInput answer
   * @param slotName what errors call the image slot token ("image", "<IMG_CONTEXT>")
   */
  protected DecoderVlModel(Weights weights, Qwen2Decoder decoder, boolean embedsInput, String slotName) {
    this.weights = weights;
    this.decoder = decoder;
    this.embedsInput = embedsInput;
    this.slotName = slotName;
  }

  // ---- what a family supplies ----


  /**
   * The batch's image features in slot order, H last (e.g. (tokens, H) or (tiles, tokens, H)), or null when the batch
   * has no images. A {@link #IMAGE_EMBEDS} entry (from {@link #imageEmbeds}) replaces the frozen vision modules. By
   * default the vision modules' output is the features; a family with trainable parts after them overrides.
   */
  protected Tensor imageFeatures(Map<String, Tensor> multimodal) {
    Tensor embeds = multimodal.get(IMAGE_EMBEDS);
    return embeds != null ? embeds : imageEmbeds(multimodal);
  }

  /**
   * The image features as a chain of checkpoint segments (the first starts from nothing, the last returns what
   * {@link #imageFeatures} returns), used by {@link #lastHiddenCheckpointed} when no {@link #IMAGE_EMBEDS} entry
   * stands in for the vision modules, i.e. when they train; or null (the default, and without images) to run
   * {@link #imageFeatures} inside the embedding segment, all of the tower's activations alive during its recompute.
   */
  protected List<CheckpointedPass.Segment> imageFeatureSegments(Map<String, Tensor> multimodal) {
    return null;
  }

  /** Called when the prompts hold {@code slots} image tokens but there are no features; refusing families throw. */
  protected void slotsWithoutFeatures(long slots) {}

  /**
   * Prefill positions.
   *
   * @param promptIds (B, L) int64, -1 at generated positions (they are text)
   * @param attentionMask (B, L) int64
   */
  protected abstract Positions positions(Tensor promptIds, Tensor attentionMask, Map<String, Tensor> multimodal);

  /** cos and sin (B, 1, L, head_dim) float32 of position ids in the family's shape. */
  protected abstract Tensor[] cosSin(Tensor positionIds);

  /** Position ids of decode steps from their (B, 1) positions; 1-D RoPE takes them as they are. */
  protected Tensor decodePositionIds(Tensor positions) {
    return positions;
  }

  /** Adds the family's own outputs (beyond logits) to what {@code bin/vlmr1 forward} writes. */
  protected void extraOutputs(Output o, Map<String, Tensor> multimodal, Map<String, Tensor> out) {}

  /** The id of the token whose positions receive image features; negative while unknown. */
  public long imageSlotId() {
    return imageSlotId;
  }

  /** Sets the image slot token's id (the family module's postModelInit, from the prompts' tokenizer or flags). */
  public void setImageSlotId(long id) {
    this.imageSlotId = id;
  }

  // ---- the forward ----

  /** Prefill forward of a left-padded batch with every position kept. */
  public Output forward(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, boolean withLogits) {
    return forward(inputIds, attentionMask, multimodal, withLogits, null, 0);
  }

  /**
   * Prefill forward of a left-padded batch.
   *
   * @param inputIds (B, L) int64
   * @param attentionMask (B, L) int64, or null for all ones
   * @param multimodal the family's tensors by VLM-R1 name, maybe with {@link #IMAGE_EMBEDS}
   * @param cache filled for decoding when not null
   * @param from keep positions from..L-1 of the final hidden state (and logits) only; 0 keeps all. With from > 0 the
   *     positions after it are generated text (the GRPO passes): an image token the policy sampled there is an
   *     ordinary token, as generation embedded and positioned it
   */
  public Output forward(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, boolean withLogits,
      KvCache cache, int from) {
    Tensor mask = maskOrAll(inputIds, attentionMask);                                          // (B, L)
    Tensor promptIds = promptOnly(inputIds, from);                                             // (B, L)
    Tensor vis = onImageSlots(promptIds, () -> imageFeatures(multimodal));
    Tensor emb = placeImages(decoder.embed(inputIds), promptIds, vis);                         // (B, L, H)
    Positions pos = positions(promptIds, mask, multimodal);
    Tensor[] cs = cosSin(pos.ids());
    List<Tensor> hidden = new ArrayList<>();
    hidden.add(emb);
    Tensor normed = decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()),
        Qwen2Decoder.causalMask(mask), cache, from == 0 ? hidden : null, from);
    if (from > 0) {
      hidden.add(normed);
    }
    Tensor logits = withLogits ? torch.linear(normed, lmHead()) : null;
    return new Output(logits, hidden, vis, pos);
  }

  /** {@code attentionMask}, or all ones (B, L) on the ids' device when there is none. */
  private static Tensor maskOrAll(Tensor inputIds, Tensor attentionMask) {
    return attentionMask != null ? attentionMask : torch.ones(new long[] {inputIds.size(0), inputIds.size(1)},
        new TensorOptions(ScalarType.Long).device(new DeviceOptional(inputIds.device())));     // (B, L)
  }

  /**
   * {@link #lastHidden(Tensor, Tensor, Map, int)} as a checkpointed training pass ({@code --gradient_checkpointing}):
   * the segments are the vision modules' (per block where the family splits them, see
   * {@link #imageFeatureSegments}), the embedding with the image features placed, each decoder layer, and the final
   * norm; only each segment's input (each decoder layer's (B, L, H)) is kept between the forward and the backward.
   * Its {@link CheckpointedPass#output} is the (B, L - from, H) final-norm hidden states; run it, and its backward,
   * in the LoRA state of the training pass (the recompute replays it).
   */
  @Override
  public CheckpointedPass lastHiddenCheckpointed(Tensor inputIds, Tensor attentionMask,
      Map<String, Tensor> multimodal, int from) {
    Tensor mask = maskOrAll(inputIds, attentionMask);                                          // (B, L)
    Tensor promptIds = promptOnly(inputIds, from);                                             // (B, L)
    Positions pos = positions(promptIds, mask, multimodal);
    Tensor[] cs = cosSin(pos.ids());
    ScalarType dt = decoder.dtype();
    Tensor cos = cs[0].to(dt);                                                                 // (B, 1, L, hd)
    Tensor sin = cs[1].to(dt);
    Tensor causal = Qwen2Decoder.causalMask(mask);                                             // (B, 1, L, L)
    List<CheckpointedPass.Segment> segments = new ArrayList<>();
    List<CheckpointedPass.Segment> vision = multimodal.containsKey(IMAGE_EMBEDS) ? null
        : imageFeatureSegments(multimodal);
    if (vision == null) {
      segments.add(none -> placeImages(decoder.embed(inputIds), promptIds,
          onImageSlots(promptIds, () -> imageFeatures(multimodal))));                         // (B, L, H)
    } else {
      // each segment keys its own dropout, so the recompute (which replays the pass's row keys) does so again
      vision.forEach(v -> segments.add(x -> onImageSlots(promptIds, () -> v.apply(x))));    // ... -> features
      segments.add(vis -> placeImages(decoder.embed(inputIds), promptIds, vis));            // (B, L, H)
    }
    for (int i = 0; i < decoder.config().numLayers(); i++) {
      int layer = i;
      segments.add(x -> decoder.layer(layer, x, cos, sin, causal, null));                      // (B, L, H)
    }
    segments.add(x -> decoder.finalNorm(x, from));                                             // (B, L - from, H)
    return CheckpointedPass.run(segments, weights.lora());
  }

  /**
   * {@code features} computed with this thread's LoRA dropout keys moved to the image slots (LoraDropout#atSlots):
   * adapters after the vision tower (InternVL's mlp1) see the features in slot order, not the batch's (B, L) tokens.
   * Outside a training pass with dropout it just runs {@code features}.
   */
  private Tensor onImageSlots(Tensor promptIds, java.util.function.Supplier<Tensor> features) {
    LoraAdapters a = weights.lora();
    LoraAdapters.Pass pass = a == null ? null : a.pass();
    if (pass == null || pass.keys() == null || !a.hasDropout() || imageSlotId() < 0) {
      return features.get();
    }
    try (LoraAdapters.Off slots = a.train(pass.keys().atSlots(promptIds.eq(new Scalar(imageSlotId()))))) {
      return features.get();
    }
  }

  /** {@code emb} with the features (any leading shape, H last) scattered into the prompt's image slots, in order. */
  private Tensor placeImages(Tensor emb, Tensor promptIds, Tensor vis) {
    long id = imageSlotId();
    Tensor isSlot = id >= 0 ? promptIds.eq(new Scalar(id)) : null;                           // (B, L)
    long slots = isSlot == null ? 0 : isSlot.sum().item_long();
    if (vis == null) {
      if (slots > 0) {
        slotsWithoutFeatures(slots);
      }
      return emb;
    }
    Tensor flat = vis.to(emb.scalar_type()).reshape(-1, emb.size(2));                          // (slots, H)
    if (slots != flat.size(0)) {
      throw new IllegalArgumentException("image features and " + slotName + " tokens do not match: tokens " + slots
          + ", features " + flat.size(0) + (vis.dim() > 2 ? " (" + vis.size(0) + " x " + vis.size(1) + ")" : ""));
    }
    return emb.masked_scatter(isSlot.unsqueeze(-1).expand_as(emb), flat);
  }

  /** {@code ids} with every position after {@code from} set to -1 (generated text), or ids itself for from 0. */
  static Tensor promptOnly(Tensor ids, int from) {
    if (from <= 0) {
      return ids;
    }
    Tensor idx = torch.arange(new Scalar(ids.size(1)),
        new TensorOptions(ScalarType.Long).device(new DeviceOptional(ids.device())));          // (L)
    return ids.masked_fill(idx.gt(new Scalar(from)), new Scalar(-1));                          // (B, L)
  }

  /**
   * 1-D RoPE positions from the mask (cumsum - 1, pads 1: transformers' generate rule) and the decode offset
   * (real tokens - L), for families whose decoder uses plain RoPE.
   */
  public static Positions positionsFromMask(Tensor attentionMask) {
    Tensor ids = Rope.positionsFromMask(attentionMask);                                       // (B, L)
    Tensor offset = attentionMask.to(ScalarType.Long).sum(new long[] {1}, true, new ScalarTypeOptional())
        .sub(new Scalar(attentionMask.size(1)));                                             // (B, 1)
    return new Positions(ids, offset);
  }

  // ---- the contract ----

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    return forward(inputIds, attentionMask, multimodal, false, null, 0).lastHidden();
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal, int from) {
    return forward(inputIds, attentionMask, multimodal, false, null, from).lastHidden();
  }

  @Override
  public Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    Output o = forward(inputIds, attentionMask, multimodal, true);
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put("logits", o.logits().to(ScalarType.Float));
    extraOutputs(o, multimodal, out);
    return out;
  }

  /**
   * One decode step: {@code tokens} (B, 1) at cache index c get position c + the prefill's decode offset and attend
   * to every cached key whose mask is 1.
   *
   * @param fullMask (B, c + 1) int64 attention mask including the new token
   * @return (B, V) logits of the new position
   */
  public Tensor decode(Tensor tokens, long[] fullMask, Tensor decodeOffset, KvCache cache) {
    // The head weight streams once (no per-token re-packing) on float32 CPU tensors; torch.linear elsewhere.
    return generationLogits(decodeHidden(tokens, fullMask, decodeOffset, cache));             // (B, V)
  }

  /** {@link #decode} without the head: the (B, H) final-norm rows of the new position. */
  Tensor decodeHidden(Tensor tokens, long[] fullMask, Tensor decodeOffset, KvCache cache) {
    int b = (int) tokens.size(0);
    long c = cache.length();
    // the sampled ids and the mask come from the host each step: one small copy each onto the model's device
    Tensor emb = decoder.embed(Devices.moved(tokens, decodeOffset.device()));                   // (B, 1, H)
    Tensor[] cs = cosSin(decodePositionIds(decodeOffset.add(new Scalar(c))));
    Tensor attnMask = Devices.moved(Qwen2Decoder.decodeMask(fullMask, b, (int) (c + 1), emb.scalar_type().intern()),
        emb.device());                                                                          // (B, 1, 1, c + 1)
    Tensor normed = decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()), attnMask, cache,
        null);
    return normed.select(1, 0);                                                               // (B, H)
  }

  /** The head as a plain weight for generation (the pruned head), or null when a LoRA adapter on it is active. */
  private Tensor plainGenerationHead() {
    LoraAdapters a = weights.lora();
    return a != null && a.active(decoder.lmHeadModule()) ? null : decoder.lmHeadBase();
  }

  /**
   * Generation's logits of final-norm rows: the head weight through our decode kernel (read once, never re-packed)
   * plus, with a LoRA adapter on the head, its term (alpha / r) (h A^T) B^T unmerged, so no V x H merged weight is
   * built per token.
   *
   * @param h (N, H)
   * @return (N, V)
   */
  private Tensor generationLogits(Tensor h) {
    Tensor y = LmHeadKernels.logits(h, decoder.lmHeadBase());                                 // (N, V)
    LoraAdapters a = weights.lora();
    return a == null ? y : a.apply(decoder.lmHeadModule(), h, y);
  }

  /**
   * The completions of a prompt batch, one per prompt row (the shared decode loop over this forward), with each
   * step's logits when {@code keepLogits} (parity checks).
   *
   * @param step the optimizer step and {@code firstSampleIndex} the global index of row 0, for the random streams
   */
  public Generator.Result generateCompletions(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits) {
    return generateCompletions(inputIds, attentionMask, multimodal, sampling, eosIds, padId, step, firstSampleIndex,
        keepLogits, Generator.identity((int) inputIds.size(0)), GenerationOptions.DEFAULT, null);
  }

  /**
   * {@link #generateCompletions} into a given empty cache, which the caller closes (the preallocated-vs-growing
   * test and the generate benchmark pass a growing one).
   */
  public Generator.Result generateCompletions(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits,
      KvCache cache) {
    return generateCompletions(inputIds, attentionMask, multimodal, sampling, eosIds, padId, step, firstSampleIndex,
        keepLogits, Generator.identity((int) inputIds.size(0)), GenerationOptions.DEFAULT, cache);
  }

  /**
   * The completions of {@code rowPrompt.length} rows over a batch of distinct prompts: each prompt (vision modules
   * included) is prefilled once and its KV cache prefix copied into each of its rows.
   *
   * @param inputIds (P, L) int64, the distinct prompts, with their attention mask and multimodal tensors
   * @param rowPrompt the prompt of each completion row, in [0, P); row r draws as global sample firstSampleIndex + r
   * @param cache an empty cache the caller closes, or null for one preallocated for prompt + max new tokens
   */
  public Generator.Result generateCompletions(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, boolean keepLogits,
      int[] rowPrompt, GenerationOptions options, KvCache cache) {
    if (cache == null) {
      // prompt + max new tokens: the decode loop never caches more, so the buffers are allocated once
      try (KvCache own = newCache(inputIds.size(1) + sampling.maxNewTokens())) {
        return generateCompletions(inputIds, attentionMask, multimodal, sampling, eosIds, padId, step,
            firstSampleIndex, keepLogits, rowPrompt, options, own);
      }
    }
    if (cache.length() != 0) {
      throw new IllegalArgumentException("generation needs an empty KV cache, got one holding " + cache.length()
          + " tokens");
    }
    int p = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] mask = attentionMask == null ? Generator.ones(p * l) : TensorChecks.longs(attentionMask);
    Tensor[] offset = new Tensor[1];
    Generator.Decoding d = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        Output o = forward(inputIds, attentionMask, multimodal, false, cache, 0);
        offset[0] = o.positions().decodeOffset().clone();
        offset[0].retainReference(); // outlives the prefill's PointerScope
        return generationLogits(o.lastHidden().select(1, l - 1));                               // (P, V)
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        return decode(tokens, fullMask, offset[0], cache);
      }

      @Override
      public Tensor headWeight() {
        return plainGenerationHead();
      }

      @Override
      public Tensor stepHidden(Tensor tokens, long[] fullMask, KvCache cache) {
        return decodeHidden(tokens, fullMask, offset[0], cache);
      }

      @Override
      public void selectRows(Tensor index) {
        Tensor kept = offset[0].index_select(0, index.to(offset[0].device(), ScalarType.Long));   // (B', 1)
        kept.retainReference();
        offset[0].releaseReference();
        offset[0] = kept;
      }
    };
    try {
      return Generator.run(d, cache, mask, l, rowPrompt, sampling, eosIds, padId, step, firstSampleIndex,
          keepLogits, options);
    } finally {
      if (offset[0] != null) {
        offset[0].releaseReference();
      }
    }
  }

  /**
   * What transformers' generate returns for the family: the new tokens only for embeds-input families, prompt + new
   * tokens for the others (the prompt's attention mask, then the completion mask). The family module's
   * isEmbedsInput tells the trainer which it gets.
   */
  @Override
  public Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex, int[] rowPrompt,
      GenerationOptions options) {
    Generator.Result r = generateCompletions(inputIds, attentionMask, multimodal, sampling, eosIds, padId, step,
        firstSampleIndex, false, rowPrompt, options, null);
    if (embedsInput) {
      return new Generation(r.ids(), r.mask());
    }
    int l = (int) inputIds.size(1);
    long[] ids = TensorChecks.longs(inputIds);
    long[] mask = attentionMask == null ? Generator.ones(ids.length) : TensorChecks.longs(attentionMask);
    return new Generation(Generation.prefixed(ids, rowPrompt, r.ids(), l),
        Generation.prefixed(mask, rowPrompt, r.mask(), l));
  }

  /** A new KV cache for this model's decoder, growing by concatenation. */
  public KvCache newCache() {
    return decoder.newCache();
  }

  /** A new KV cache for this model's decoder, preallocated for {@code capacity} tokens per row. */
  public KvCache newCache(long capacity) {
    return decoder.newCache(capacity);
  }

  @Override
  public Tensor lmHead() {
    return decoder.lmHead();
  }

  @Override
  public boolean lmHeadTied() {
    return decoder.tied();
  }

  @Override
  public LoraAdapters addLora(LoraConfig cfg, List<String> visionKeywords, long seed) {
    if (weights.lora() != null) {
      throw new IllegalStateException("the model already has LoRA adapters");
    }
    Map<String, List<String>> saved = Map.of(); // PEFT's modules_to_save: module path -> its parameters
    if (cfg.modulesToSave() != null) {
      if (!loraParts().isEmpty()) {
        throw new UnsupportedOperationException("lora_modules_to_save is not implemented for " + this + ": its "
            + "language model is kept in another layout than its PEFT module names");
      }
      saved = LoraTargets.modulesToSave(trainableKeys(), decoder.tied() ? decoder.lmHeadModule() : null,
          decoder.tiedHeadSource(), visionKeywords, cfg.modulesToSave());
    }
    Map<String, Tensor> toSave = new java.util.TreeMap<>();
    saved.values().forEach(keys -> keys.forEach(k -> toSave.put(k, savedBase(k))));
    LoraAdapters a = LoraAdapters.init(cfg, LoraTargets.select(linearModules(), visionKeywords, cfg.targetModules(),
        saved.keySet()), toSave, seed);
    weights.attachLora(a, loraParts());
    return a;
  }

  /** The floating parameters' names (what a modules_to_save entry can copy). */
  private java.util.Set<String> trainableKeys() {
    java.util.Set<String> out = new java.util.TreeSet<>();
    weights.asMap().forEach((k, t) -> {
      if (t.is_floating_point() && !k.endsWith(".inv_freq")) {
        out.add(k);
      }
    });
    return out;
  }

  /** The base tensor a trained copy starts from: the checkpoint's, or the embedding for a tied head's copy. */
  private Tensor savedBase(String key) {
    return weights.base(isTiedHeadKey(key) ? decoder.tiedHeadSource() : key);
  }

  private boolean isTiedHeadKey(String key) {
    return decoder.tied() && key.equals(decoder.lmHeadModule() + ".weight");
  }

  /**
   * The internal linear modules that compute a PEFT module in pieces or under another name (internal path -> part),
   * for families whose weights are kept in another layout than their PEFT module names (InternLM2). Empty by default:
   * every internal module is its own PEFT module.
   */
  protected Map<String, LoraPart> loraParts() {
    return Map.of();
  }

  @Override
  public void attachLora(LoraAdapters a) {
    Map<String, long[]> linear = linearModules();
    for (String m : a.modules()) {
      long[] shape = linear.get(m);
      if (shape == null || a.a(m).size(1) != shape[1] || a.b(m).size(0) != shape[0]) {
        throw new IllegalArgumentException("LoRA adapter " + m + " does not fit this model: "
            + (shape == null ? "no such linear layer" : "layer (out, in) = " + java.util.Arrays.toString(shape)));
      }
    }
    if (!a.savedParameters().isEmpty() && !loraParts().isEmpty()) {
      throw new IllegalArgumentException("modules_to_save copies are not implemented for " + this);
    }
    for (String k : a.savedParameters()) {
      Tensor base = isTiedHeadKey(k) || weights.has(k) ? savedBase(k) : null;
      Tensor copy = a.copyOf(k);
      if (base == null || !java.util.Arrays.equals(TensorChecks.shape(base), TensorChecks.shape(copy))) {
        throw new IllegalArgumentException("modules_to_save tensor " + k + " does not fit this model: " + (base == null
            ? "no such parameter" : "shape " + java.util.Arrays.toString(TensorChecks.shape(copy)) + ", the model's "
            + java.util.Arrays.toString(TensorChecks.shape(base))));
      }
    }
    weights.attachLora(a, loraParts());
  }

  /**
   * The linear modules under their PEFT names, path (transformers 4.49 layout, or the family's own) -> (out, in), the
   * LM head included even when tied; modules computed in pieces appear once, with the packed output size.
   */
  public Map<String, long[]> linearModules() {
    Tensor head = decoder.lmHeadBase();
    Map<String, LoraPart> parts = loraParts();
    Map<String, long[]> out = new java.util.TreeMap<>();
    weights.linearModules(Map.of()).forEach((m, shape) -> {
      LoraPart p = parts.get(m);
      if (p == null) {
        out.put(m, shape);
      } else {
        out.merge(p.module(), shape.clone(), (was, add) -> new long[] {was[0] + add[0], was[1]});
      }
    });
    out.put(decoder.lmHeadModule(), new long[] {head.size(0), head.size(1)});
    return out;
  }

  @Override
  public String lmHeadModule() {
    return decoder.lmHeadModule();
  }

  @Override
  public LoraAdapters lora() {
    return weights.lora();
  }

  /**
   * Folds the attached adapters into the weights, W + (alpha / r) B A computed in float64 and rounded once to W's
   * dtype (PEFT's merge_and_unload), and puts the modules_to_save copies in place of their base parameters, then
   * detaches and closes them. A tied LM head with an adapter or a trained copy becomes an untied
   * {@code lm_head.weight} of its own, so the embedding lookup stays the base one as during training; the caller
   * then saves with tie_word_embeddings false.
   *
   * @return whether the head was untied
   */
  public boolean mergeLora() {
    LoraAdapters a = weights.lora();
    if (a == null) {
      throw new IllegalStateException("no LoRA adapters to merge");
    }
    boolean untied = false;
    try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope();
        org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
      Map<String, List<Map.Entry<String, LoraPart>>> pieces = new LinkedHashMap<>(); // PEFT module -> pieces
      loraParts().forEach((internal, p) -> pieces.computeIfAbsent(p.module(), k -> new ArrayList<>())
          .add(Map.entry(internal, p)));
      for (String m : a.modules()) {
        Tensor delta = torch.matmul(a.b(m).to(ScalarType.Double), a.a(m).to(ScalarType.Double))
            .mul(new Scalar(a.config().scaling()));                                           // (out, in)
        if (m.equals(decoder.lmHeadModule())) {
          Tensor w = decoder.lmHeadBase();
          Tensor merged = w.to(ScalarType.Double).add(delta).to(w.scalar_type());
          if (decoder.tied()) {
            weights.replace(Map.of(m + ".weight", merged), List.of());
            untied = true;
          } else {
            w.copy_(merged);
          }
          continue;
        }
        for (Map.Entry<String, LoraPart> e : pieces.getOrDefault(m, List.of(Map.entry(m, LoraPart.whole(m))))) {
          Tensor w = weights.get(e.getKey() + ".weight");                                      // (part rows, in)
          w.copy_(w.to(ScalarType.Double).add(e.getValue().rows(delta)).to(w.scalar_type()));
        }
      }
      // modules_to_save: the trained copies replace their base parameters (PEFT's merge_and_unload keeps the copy)
      String headKey = decoder.lmHeadModule() + ".weight";
      Tensor embedding = decoder.tied() ? weights.base(decoder.tiedHeadSource()) : null;
      if (embedding != null && !untied && a.copyOf(decoder.tiedHeadSource()) != null && a.copyOf(headKey) == null) {
        // a trained embedding under a tied head: the head stayed the base embedding in training, so it keeps it
        weights.replace(Map.of(headKey, embedding.clone()), List.of());
        untied = true;
      }
      for (String k : a.savedParameters()) {
        Tensor copy = a.copyOf(k);
        if (isTiedHeadKey(k)) {
          weights.replace(Map.of(k, copy.detach().to(embedding.scalar_type()).clone()), List.of());
          untied = true;
        } else {
          Tensor w = weights.base(k);
          w.copy_(copy.detach());
        }
      }
    }
    weights.attachLora(null);
    a.close();
    return untied;
  }

  @Override
  public Map<String, Tensor> namedParameters() {
    return weights.asMap();
  }

  /** The tensors {@link #save} writes: the parameters, in a family's checkpoint layout when it differs. */
  protected Map<String, Tensor> checkpointTensors() {
    return weights.asMap();
  }

  /**
   * Saves the weights in the family's Hugging Face layout, with the source checkpoint's config and tokenizer files,
   * so transformers and vLLM load what was trained here.
   */
  @Override
  public void save(Path out) throws IOException {
    Checkpoints.save(checkpointTensors(), weights.source(), out, Checkpoints.SHARD_BYTES);
  }

  @Override
  public void moveTo(org.bytedeco.pytorch.Device device) {
    weights.moveTo(device); // the decoder and vision modules look their weights up by name at every pass
  }

  @Override
  public org.bytedeco.pytorch.Device device() {
    return decoder.lmHeadBase().device();
  }

  @Override
  public void castTo(ScalarType dtype) {
    weights.castFloating(dtype);
    if (weights.lora() != null) {
      weights.lora().castTo(dtype);
    }
  }

  @Override
  public void close() {
    weights.close();
  }
}
