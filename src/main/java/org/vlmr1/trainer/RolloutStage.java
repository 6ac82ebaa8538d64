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
    try {
      for (int m = 0; m < cfg.stepsPerGeneration(); m++) {
        int j = m * world + dist.rank();
        rollouts.add(rollout(batch.subList(j * micro, (j + 1) * micro),
            (long) step * cfg.globalBatch() + (long) j * micro, decoded.get(m), step));
      }
    } catch (RuntimeException | Error e) {
      rollouts.forEach(Rollout::close); // their device tensors; the caller never sees them
      throw e;
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
      // images decoded and preprocessed on the CPU; the batch is copied to the policy's device once
      ModelInputs in = module.prepareModelInputs(prompts, images).to(policy.device());
      List<List<InputFrame>> frames = new ArrayList<>();
      for (ModelInputs.ExampleVision v : in.perExample()) {
        frames.add(v.inputFrames());
      }
      Map<String, Tensor> mm = in.multimodal(module.customMultimodalKeywords()); // what every pass takes
      if (frozenTower()) {
        // The frozen tower's features are the same in every pass of this rollout (the reference shares the frozen
        // tower), so the tower runs once here and the policy, old and reference passes reuse them.
        Tensor embeds = policy.imageEmbeds(mm);
        if (embeds != null) {
          mm.put(VlmModel.IMAGE_EMBEDS, embeds);
        }
      }
      VlmModel.Generation g = generateRows(prompts, images, in, mm, firstSampleIndex, step);
      List<String> texts = module.decodeCompletions(g.ids(), g.mask());
      long[][] promptIds = Rollout.rows(in.inputIds());
      long[][] promptMask = Rollout.rows(in.attentionMask());
      // last, so nothing can throw between taking the tensors' references and handing them to the rollout
      return new Rollout(examples, firstSampleIndex, prompts, promptIds, promptMask, frames, Rollout.keep(mm),
          g.ids(), g.mask(), texts, b.failed());
    }
  }

  /**
   * The completions of the micro-batch's rows, generated in consecutive slices of at most --max_generation_rows rows;
   * within a slice each distinct prompt is prefilled once (its own prepared inputs, vision modules included) and its
   * rows continue it. Row r draws as global sample firstSampleIndex + r wherever its slice starts.
   *
   * @param in the micro-batch's prepared rows, with {@code mm} their multimodal tensors (frozen features included)
   */
  private VlmModel.Generation generateRows(List<String> prompts, List<List<RgbImage>> images, ModelInputs in,
      Map<String, Tensor> mm, long firstSampleIndex, int step) {
    RolloutOptions opts = cfg.rollout();
    int rows = prompts.size();
    int slice = opts.maxGenerationRows() > 0 ? opts.maxGenerationRows() : rows;
    long[][] ids = new long[rows][];
    long[][] mask = new long[rows][];
    for (int from = 0; from < rows; from += slice) {
      int to = Math.min(rows, from + slice);
      List<String> p = prompts.subList(from, to);
      List<List<RgbImage>> im = images.subList(from, to);
      PromptGroups groups = opts.sharePrompts() ? PromptGroups.of(p, im) : PromptGroups.perRow(to - from);
      boolean whole = from == 0 && to == rows && groups.allDistinct();
      try (PointerScope s = new PointerScope()) {
        // the batch's own tensors when it is the whole micro-batch with no prompt twice; else the slice's prompts
        ModelInputs gen = whole ? in
            : module.prepareModelInputs(groups.pick(p), groups.pick(im)).to(policy.device());
        Map<String, Tensor> genMm = whole ? mm : gen.multimodal(module.customMultimodalKeywords());
        if (!whole && frozenTower()) {
          Tensor embeds = policy.imageEmbeds(genMm);
          if (embeds != null) {
            genMm.put(VlmModel.IMAGE_EMBEDS, embeds);
          }
        }
        VlmModel.Generation g = module.completions(policy.generate(gen.inputIds(), gen.attentionMask(),
            module.generateInputs(genMm), cfg.sampling(), module.eosTokenIds(), module.padTokenId(), step,
            firstSampleIndex + from, groups.rowPrompt(), opts.engine()), (int) gen.inputIds().size(1));
        System.arraycopy(g.ids(), 0, ids, from, to - from);
        System.arraycopy(g.mask(), 0, mask, from, to - from);
      }
    }
    return new VlmModel.Generation(ids, mask);
  }

  /**
   * Whether the vision tower's output cannot change within a rollout: --freeze_vision_modules, or LoRA (the base is
   * frozen and the tower has no adapters; trainable parts after it, such as InternVL's mlp1 adapters, still run).
   */
  private boolean frozenTower() {
    return cfg.freezeVisionModules() || policy.lora() != null;
  }

  @Override
  public void close() {
    images.close();
  }
}
