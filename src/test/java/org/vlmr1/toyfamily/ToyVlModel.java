// A third model family for the contract's tests (issue 13): a toy vision encoder (one linear map of each image's
// normalised 8x8 patches) in front of the shared Qwen2-shaped decoder. Built from org.vlmr1.model parts only.
package org.vlmr1.toyfamily;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.model.Checkpoints;
import org.vlmr1.model.DecoderConfig;
import org.vlmr1.model.Generator;
import org.vlmr1.model.KvCache;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Rope;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.VlmModel;
import org.vlmr1.model.Weights;
import org.vlmr1.module.GridThw;

/** The toy model: weights "vision.proj.weight" (H, 3 * 8 * 8) plus a Qwen2 decoder under "model.". */
public final class ToyVlModel implements VlmModel {
  static final int PATCH = 8;
  private final DecoderConfig cfg;
  private final Weights w;
  private final Qwen2Decoder decoder;
  private final long imageTokenId;

  ToyVlModel(DecoderConfig cfg, Weights w, long imageTokenId) {
    this.cfg = cfg;
    this.w = w;
    this.decoder = new Qwen2Decoder(cfg, w, "model.", "lm_head.weight");
    this.imageTokenId = imageTokenId;
    w.get("vision.proj.weight", cfg.hiddenSize(), 3L * PATCH * PATCH);
    w.rejectUnexpected();
  }

  /** What the module's loadModel instantiates (through modelClass). */
  public static ToyVlModel load(Path checkpoint) throws IOException {
    JsonNode c = new ObjectMapper().readTree(checkpoint.resolve("config.json").toFile());
    DecoderConfig cfg = new DecoderConfig(c.path("vocab_size").asLong(), c.path("hidden_size").asLong(),
        c.path("intermediate_size").asLong(), c.path("num_hidden_layers").asInt(),
        c.path("num_attention_heads").asInt(), c.path("num_key_value_heads").asInt(), 1e-6, 10000, true, false, 0,
        4096);
    Weights w = Weights.load(checkpoint, k -> k);
    return new ToyVlModel(cfg, w, c.path("image_token_id").asLong());
  }

  /** (N, 3 * 8 * 8) patches -> (N, H) features: the whole vision tower. */
  private Tensor vision(Tensor patches) {
    return torch.linear(patches.to(w.get("vision.proj.weight").scalar_type()), w.get("vision.proj.weight"));
  }

  /**
   * The final-norm hidden states of positions from..L-1; image features go to the prompt's image tokens (positions
   * after {@code from} are generated text when from > 0).
   */
  private Tensor forward(Tensor ids, Tensor mask, Map<String, Tensor> mm, KvCache cache, int from) {
    int b = (int) ids.size(0);
    int l = (int) ids.size(1);
    Tensor m = mask == null ? torch.ones(b, l).to(ScalarType.Long) : mask;               // (B, L)
    Tensor emb = decoder.embed(ids);                                                     // (B, L, H)
    Tensor feats = mm.get(IMAGE_EMBEDS) != null ? mm.get(IMAGE_EMBEDS)
        : mm.get("pixel_values") != null ? vision(mm.get("pixel_values")) : null;       // (N, H)
    if (feats != null) {
      long[] flat = new long[b * l];
      ids.contiguous().data_ptr_long().get(flat);
      Tensor isImage = torch.tensor(VlmModel.promptOnly(flat, b, l, from)).reshape(b, l)
          .eq(new Scalar(imageTokenId));                                                  // (B, L)
      if (isImage.sum().item_long() != feats.size(0)) {
        throw new IllegalArgumentException("toy: " + isImage.sum().item_long() + " image tokens for "
            + feats.size(0) + " features");
      }
      emb = emb.masked_scatter(isImage.unsqueeze(-1).expand_as(emb), feats.to(emb.scalar_type()));
    }
    Tensor[] cs = Rope.cosSin(Rope.positionsFromMask(m), cfg);
    return decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()), Qwen2Decoder.causalMask(m),
        cache, null, from);
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    return forward(inputIds, attentionMask, multimodal, null, 0);
  }

  @Override
  public Tensor lastHidden(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids, int from) {
    return forward(inputIds, attentionMask, multimodal, null, from);
  }

  @Override
  public Map<String, Tensor> forwardOutputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids) {
    return Map.of("logits", torch.linear(forward(inputIds, attentionMask, multimodal, null, 0), lmHead())
        .to(ScalarType.Float));
  }

  @Override
  public Tensor imageEmbeds(Map<String, Tensor> multimodal, List<GridThw> grids) {
    Tensor p = multimodal.get("pixel_values");
    return p == null ? null : vision(p);
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
  public Generation generate(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
      List<GridThw> grids, SamplingConfig sampling, long[] eosIds, long padId, long step, long firstSampleIndex) {
    int b = (int) inputIds.size(0);
    int l = (int) inputIds.size(1);
    long[] mask = new long[b * l];
    (attentionMask == null ? torch.ones(b, l).to(ScalarType.Long) : attentionMask).contiguous().data_ptr_long()
        .get(mask);
    Generator.Decoding d = new Generator.Decoding() {
      @Override
      public Tensor prefill(KvCache cache) {
        Tensor last = forward(inputIds, attentionMask, multimodal, cache, 0).select(1, l - 1); // (B, H)
        return torch.linear(last, lmHead());
      }

      @Override
      public Tensor step(Tensor tokens, long[] fullMask, KvCache cache) {
        int len = (int) (cache.length() + 1);
        Tensor full = torch.tensor(fullMask).reshape(b, len);                             // (B, T + 1)
        Tensor pos = Rope.positionsFromMask(full).narrow(1, len - 1, 1);                  // (B, 1)
        Tensor emb = decoder.embed(tokens);                                               // (B, 1, H)
        Tensor[] cs = Rope.cosSin(pos, cfg);
        Tensor attn = full.ne(new Scalar(0)).reshape(b, 1, 1, len);                       // (B, 1, 1, T + 1)
        Tensor h = decoder.run(emb, cs[0].to(emb.scalar_type()), cs[1].to(emb.scalar_type()), attn, cache, null);
        return torch.linear(h, lmHead()).select(1, 0);                                     // (B, V)
      }
    };
    try (KvCache cache = decoder.newCache()) {
      Generator.Result r = Generator.run(d, cache, mask, b, l, sampling, eosIds, padId, step, firstSampleIndex,
          false);
      return new Generation(r.ids(), r.mask());
    }
  }

  @Override
  public void save(Path out) throws IOException {
    Checkpoints.save(w.asMap(), w.source(), out, Checkpoints.SHARD_BYTES);
  }

  @Override
  public void castTo(ScalarType dtype) {
    w.castFloating(dtype);
  }

  @Override
  public Map<String, Tensor> namedParameters() {
    return w.asMap();
  }

  @Override
  public void close() {
    w.close();
  }
}
