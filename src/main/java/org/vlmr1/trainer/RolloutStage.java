// Stage 1 of a GRPO step: the completions of this rank's share of a generation round. Images decode in the
// background (every micro-batch's start decoding at once, so later ones decode while earlier ones generate); a frozen
// vision tower runs once per rollout; generation takes what the family's nonGenerateParams leave; isEmbedsInput says
// how to take the completions from what the family's generate returns.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.data.Example;
import org.vlmr1.data.ImageDecoder;
import org.vlmr1.data.RgbImage;
import org.vlmr1.distributed.Collectives;
import org.vlmr1.model.HostTensor;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.VlmModule;
import org.vlmr1.util.InputFrame;

/** Generates a round's rollouts. Close it to stop the image decoders. */
final class RolloutStage implements AutoCloseable {
  private final GrpoConfig cfg;
  private final VlmModule module;
  private final VlmModel policy;
  private final String taskType;
  private final Collectives dist;
  private final ImageDecoder images =
      new ImageDecoder(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));

  RolloutStage(GrpoConfig cfg, VlmModule module, VlmModel policy, String taskType, Collectives dist) {
    this.cfg = cfg;
    this.module = module;
    this.policy = policy;
    this.taskType = taskType;
    this.dist = dist;
  }

  /**
   * Generates every micro-batch of this rank's share of a round, {@code step} being the optimizer step (0-based)
   * that generates it. Per-device batch j of the step's stream goes to rank j % W as
   * its micro-batch j / W (accelerate's slicing); sampling seeds from the global sample index. Every micro-batch's
   * images start decoding now, in the background, so later ones decode while earlier ones generate.
   */
  List<Rollout> generate(List<Example> batch, int step) {
    int micro = cfg.perDeviceTrainBatchSize();
    int world = cfg.worldSize();
    List<Future<List<ImageDecoder.Decoded>>> decoded = new ArrayList<>();
    for (int m = 0; m < cfg.stepsPerGeneration(); m++) {
      int j = m * world + dist.rank();
      decoded.add(images.submit(batch.subList(j * micro, (j + 1) * micro)));
    }
    List<Rollout> rollouts = new ArrayList<>();
    for (int m = 0; m < cfg.stepsPerGeneration(); m++) {
      int j = m * world + dist.rank();
      rollouts.add(rollout(batch.subList(j * micro, (j + 1) * micro),
          (long) step * cfg.globalBatch() + (long) j * micro, decoded.get(m), step));
    }
    return rollouts;
  }

  private Rollout rollout(List<Example> examples, long firstSampleIndex, Future<List<ImageDecoder.Decoded>> decoded,
      int step) {
    BadImages.Batch b = BadImages.apply(ImageDecoder.await(decoded), cfg.onBadSample(), step + 1);
    List<Conversation> conv = Prompts.conversations(module, examples, taskType, b.failed());
    List<List<RgbImage>> images = b.images();
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      List<String> prompts = module.preparePrompt(conv);
      ModelInputs in = module.prepareModelInputs(prompts, images);
      List<List<InputFrame>> frames = new ArrayList<>();
      for (ModelInputs.ExampleVision v : in.perExample()) {
        frames.add(v.inputFrames());
      }
      Map<String, Tensor> mm = in.multimodal(module.customMultimodalKeywords()); // what every pass takes
      if (cfg.freezeVisionModules()) {
        // The frozen tower's features are the same in every pass of this rollout (the reference shares the frozen
        // tower), so the tower runs once here and the generation, policy, old and reference passes reuse them.
        Tensor embeds = policy.imageEmbeds(mm);
        if (embeds != null) {
          mm.put(VlmModel.IMAGE_EMBEDS, embeds);
        }
      }
      VlmModel.Generation g = module.completions(policy.generate(in.inputIds(), in.attentionMask(),
          module.generateInputs(mm), cfg.sampling(), module.eosTokenIds(), module.padTokenId(), step,
          firstSampleIndex), (int) in.inputIds().size(1));
      return new Rollout(examples, firstSampleIndex, prompts, Rollout.rows(in.inputIds()),
          Rollout.rows(in.attentionMask()), frames,
          HostTensor.of(mm), g.ids(), g.mask(), module.decodeCompletions(g.ids(), g.mask()), b.failed());
    }
  }

  @Override
  public void close() {
    images.close();
  }
}
