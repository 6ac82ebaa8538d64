// A third model family for the contract's tests (issue 13): a toy vision encoder (one linear map of each image's
// normalised 8x8 patches) in front of the shared Qwen2-shaped decoder, on the shared model skeleton: it writes only
// its vision features and positions. Built from org.vlmr1.model parts only.
package org.vlmr1.toyfamily;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.model.DecoderConfig;
import org.vlmr1.model.DecoderVlModel;
import org.vlmr1.model.Qwen2Decoder;
import org.vlmr1.model.Rope;
import org.vlmr1.model.Weights;
import org.vlmr1.util.JsonConfig;

/** The toy model: weights "vision.proj.weight" (H, 3 * 8 * 8) plus a Qwen2 decoder under "model.". */
public final class ToyVlModel extends DecoderVlModel {
  static final int PATCH = 8;
  private final DecoderConfig cfg;

  ToyVlModel(DecoderConfig cfg, Weights w, long imageTokenId) {
    super(w, new Qwen2Decoder(cfg, w, "model.", "lm_head.weight"), false, "toy image"); // prompt + new tokens
    this.cfg = cfg;
    setImageSlotId(imageTokenId);
    w.get("vision.proj.weight", cfg.hiddenSize(), 3L * PATCH * PATCH);
    w.rejectUnexpected();
  }

  /** What the module's loadModel instantiates (through modelClass). */
  public static ToyVlModel load(Path checkpoint) throws IOException {
    JsonConfig c = JsonConfig.read(checkpoint.resolve("config.json"));
    DecoderConfig cfg = new DecoderConfig(c.requireLong("vocab_size"), c.requireLong("hidden_size"),
        c.requireLong("intermediate_size"), c.requireInt("num_hidden_layers"), c.requireInt("num_attention_heads"),
        c.requireInt("num_key_value_heads"), 1e-6, 10000, true, false, 0, 4096);
    Weights w = Weights.load(checkpoint, k -> k);
    return new ToyVlModel(cfg, w, c.requireLong("image_token_id"));
  }

  /** (N, 3 * 8 * 8) patches -> (N, H) features: the whole vision tower. */
  private Tensor vision(Tensor patches) {
    return torch.linear(patches.to(weights.get("vision.proj.weight").scalar_type()), weights.get("vision.proj.weight"));
  }

  @Override
  protected Positions positions(Tensor promptIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    return positionsFromMask(attentionMask);
  }

  @Override
  protected Tensor[] cosSin(Tensor positionIds) {
    return Rope.cosSin(positionIds, cfg);
  }

  @Override
  public Tensor imageEmbeds(Map<String, Tensor> multimodal) {
    Tensor p = multimodal.get("pixel_values");
    return p == null ? null : vision(p);
  }
}
