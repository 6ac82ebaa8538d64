// Supervised warm start: cross-entropy on the answer tokens of prompt + answer sequences (teacher forcing), with the
// same model, module and data machinery as the GRPO trainer.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.Example;
import org.vlmr1.data.ImageDecoder;
import org.vlmr1.data.JsonlDataset.OnBadSample;
import org.vlmr1.kernels.GrpoHiddenLossResult;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.LossType;
import org.vlmr1.kernels.Devices;
import org.vlmr1.model.VlmModel;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.VlmModule;

/** Teacher-forced fine-tuning on (prompt, answer) pairs. */
public final class SftTrainer implements AutoCloseable {
  private final VlmModule module;
  private final VlmModel model;
  private final List<Example> data;
  private final String taskType;
  private final Function<Example, String> answer;
  private final int batchSize;
  private final Random rnd;
  private static final GrpoLossConfig CE = GrpoLossConfig.builder().beta(0).lossType(LossType.BNPO).build();
  private final TensorVector params = new TensorVector();
  private final AdamW optimizer;
  private final double learningRate;
  private final LrSchedulerType schedule;
  private final int totalSteps;
  private final OnBadSample onBadSample;
  private final ImageDecoder images = new ImageDecoder(2);
  private int stepsDone;

  /**
   * @param answer the target completion of an example (without the end-of-turn token, which is appended)
   */
  public SftTrainer(VlmModule module, VlmModel model, List<Example> data, String taskType,
      Function<Example, String> answer, double learningRate, int batchSize, long seed) {
    this(module, model, data, taskType, answer, learningRate, batchSize, seed, LrSchedulerType.CONSTANT, 1);
  }

  /**
   * @param schedule the learning rate over {@code totalSteps} steps, as the GRPO trainer's (a warm start that ends
   *     at a high constant rate leaves the weights noisy for greedy decoding; linear decay settles them)
   */
  public SftTrainer(VlmModule module, VlmModel model, List<Example> data, String taskType,
      Function<Example, String> answer, double learningRate, int batchSize, long seed, LrSchedulerType schedule,
      int totalSteps) {
    this(module, model, data, taskType, answer, learningRate, batchSize, seed, schedule, totalSteps,
        OnBadSample.FAIL);
  }

  /**
   * @param onBadSample an image that fails to decode mid-run: FAIL stops naming it and its data line; SKIP trains
   *     the step without that row (rendered text-only, no answer token counted)
   */
  public SftTrainer(VlmModule module, VlmModel model, List<Example> data, String taskType,
      Function<Example, String> answer, double learningRate, int batchSize, long seed, LrSchedulerType schedule,
      int totalSteps, OnBadSample onBadSample) {
    if (schedule == null || totalSteps < 1) {
      throw new IllegalArgumentException("a learning-rate schedule over at least 1 step is needed, got " + schedule
          + " over " + totalSteps);
    }
    if (data.isEmpty() || batchSize < 1) { // an empty dataset failed in Random.nextInt with "bound must be positive"
      throw new IllegalArgumentException(data.isEmpty() ? "the dataset has 0 examples: sft needs at least one"
          : "the batch size must be >= 1, got " + batchSize);
    }
    this.learningRate = learningRate;
    this.onBadSample = onBadSample;
    this.schedule = schedule;
    this.totalSteps = totalSteps;
    this.module = module;
    this.model = model;
    module.postModelInit(model);
    this.data = List.copyOf(data);
    this.taskType = taskType;
    this.answer = answer;
    this.batchSize = batchSize;
    this.rnd = new Random(seed);
    for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
      if (e.getValue().is_floating_point()) {
        e.getValue().requires_grad_(true);
        params.push_back(e.getValue());
      }
    }
    this.optimizer = Optimizers.adamW(params, learningRate, 0.9, 0.999, 1e-8, 0.0); // HF defaults, no decay
  }

  /**
   * One step on a random batch; returns the mean cross-entropy per answer token (NaN, and no update, when every row
   * was skipped for its images).
   */
  public double step() {
    List<Example> batch = new ArrayList<>();
    for (int i = 0; i < batchSize; i++) {
      batch.add(data.get(rnd.nextInt(data.size())));
    }
    BadImages.Batch decoded = BadImages.apply(ImageDecoder.await(images.submit(batch)), onBadSample,
        stepsDone + 1);
    boolean[] failed = decoded.failed();
    List<Conversation> conv = Prompts.conversations(module, batch, taskType, failed);
    List<String> prompts = module.preparePrompt(conv);
    List<String> texts = new ArrayList<>();
    int[] answerTokens = new int[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      String target = answer.apply(batch.get(i)) + module.eosText(); // the family's end of turn
      answerTokens[i] = module.encode(target).length;
      texts.add(prompts.get(i) + target);
    }
    optimizer.zero_grad();
    double lossValue;
    try (PointerScope s = new PointerScope()) {
      ModelInputs in = module.prepareModelInputs(texts, decoded.images()).to(model.device()); // copied once
      Tensor hidden = model.lastHidden(in.inputIds(), in.attentionMask(),
          in.multimodal(module.customMultimodalKeywords()));                                    // (B, L, H)
      int b = batch.size();
      long l = hidden.size(1);
      int maxN = 0;
      for (int n : answerTokens) {
        maxN = Math.max(maxN, n);
      }
      // Rows are left padded, so every answer ends at position L-1: take the last maxN targets of each row and
      // mask the ones before a shorter row's answer.
      Tensor h = hidden.narrow(1, l - maxN - 1, maxN);                                               // (B, N, H)
      Tensor targets = in.inputIds().narrow(1, l - maxN, maxN).contiguous();                          // (B, N)
      float[] mask = new float[b * maxN];
      for (int r = 0; r < b; r++) {
        for (int k = failed[r] ? maxN : maxN - answerTokens[r]; k < maxN; k++) {
          mask[r * maxN + k] = 1f;
        }
      }
      Tensor m = Devices.moved(torch.tensor(mask), model.device()).reshape(b, maxN);                   // (B, N)
      Tensor head = model.lmHead();
      // Cross-entropy through the fused GRPO kernel: with advantage 1, beta 0 and no old log-probs the per-token loss
      // is -1 with gradient -dlogp, and BNPO averages over the answer tokens: exactly the mean CE's gradient, without
      // B x N x V logits.
      GrpoHiddenLossResult res = GrpoKernels.grpoLossFromHidden(h.detach().contiguous(), head.detach(), targets, m,
          Devices.moved(torch.ones(b), model.device()), null, null, CE, GrpoKernels.chunkRows((long) b * maxN, head));
      h.backward(res.gradHidden(), new BoolOptional(), false, null);
      HeadGradient.accumulate(head, res.gradWeight());
      lossValue = -res.perTokenLogps().mul(m).sum().item_double() / m.sum().item_double(); // NaN: all skipped
    }
    if (Double.isNaN(lossValue)) {
      optimizer.zero_grad();
      stepsDone++;
      return lossValue;
    }
    torch.clip_grad_norm_(params, 1.0);
    optimizer.param_groups().get(0).options().set_lr(learningRate());
    optimizer.step();
    stepsDone++;
    return lossValue;
  }

  /** The learning rate of the next step. */
  public double learningRate() {
    return schedule.lr(learningRate, stepsDone, totalSteps, 0);
  }

  @Override
  public void close() {
    images.close();
    optimizer.close();
  }
}
