// The VLM module contract: everything the trainer needs from a model family, typed (VLM-R1's VLMBaseModule hooks,
// VLM-R1-SPEC.md 1.1). The trainer calls nothing family-specific except through this interface.
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.data.RgbImage;
import org.vlmr1.model.VlmModel;
import org.vlmr1.reward.RewardFunction;

/**
 * One model family. Implementations are found by {@link VlmModules} from a checkpoint's {@code config.json}.
 */
public interface VlmModule {
  /** "qwen" or "internvl" (VLM-R1's get_vlm_key). */
  String vlmKey();

  /**
   * The family's model class (VLM-R1's get_model_class): {@link #loadModel} instantiates it through its
   * {@code public static load(Path)}.
   */
  Class<? extends VlmModel> modelClass();

  /**
   * Loads the family's model from a checkpoint folder (weights in the checkpoint's dtype): {@link #modelClass}'s
   * {@code load(Path)}, as VLM-R1 calls get_model_class()'s from_pretrained.
   */
  default VlmModel loadModel(Path checkpoint) throws IOException {
    return ModelClasses.load(modelClass(), checkpoint);
  }

  /**
   * Called once for the policy and once for the reference model after loading; the reference may be null (beta 0),
   * which must not fail (VLM-R1's InternVL module crashes there).
   */
  void postModelInit(VlmModel model);

  /** Parameter-name substrings of the vision tower: frozen by --freeze_vision_modules, excluded from LoRA. */
  List<String> visionModulesKeywords();

  /**
   * Names of the multimodal tensors of {@link #prepareModelInputs} that the trainer keeps and hands to every forward
   * pass (Qwen: pixel_values, image_grid_thw); the others are dropped (VLM-R1's get_custom_multimodal_keywords).
   */
  List<String> customMultimodalKeywords();

  /**
   * Multimodal inputs withheld from generation (VLM-R1's get_non_generate_params); the trainer removes them from what
   * it passes to generate(). A family whose generation uses one returns an empty list and says why (InternVL keeps
   * image_flags, which VLM-R1 withholds, to skip the dummy tiles of text-only rows in mixed batches).
   */
  List<String> nonGenerateParams();

  /** What generation takes of a forward pass's multimodal inputs: all but {@link #nonGenerateParams}. */
  default Map<String, Tensor> generateInputs(
      Map<String, Tensor> passInputs) {
    Map<String, Tensor> out = new LinkedHashMap<>(passInputs);
    nonGenerateParams().forEach(out::remove);
    return out;
  }

  /** Processor settings the trainer applies from its configuration. */
  List<ProcessingKeyword> customProcessingKeywords();

  /** Whether generation returns only the new tokens (true) or prompt + completion (false). */
  boolean isEmbedsInput();

  /**
   * The completions of what the family's model generated (VLM-R1's trainer rule): with embeds input the generation
   * is the completions; otherwise it is prompt + completion and the first {@code promptLength} columns go.
   */
  default VlmModel.Generation completions(VlmModel.Generation generated,
      int promptLength) {
    return isEmbedsInput() ? generated : generated.from(promptLength);
  }

  /** The question template of a task type, with {@code {Question}} where the problem goes. */
  String questionTemplate(String taskType);

  /** The chat-template text of each example, generation prompt included. */
  List<String> preparePrompt(List<Conversation> examples);

  /**
   * Tokenises the prompts and preprocesses each example's images (a list per example, in prompt order; empty for a
   * text-only example), left padding the batch.
   */
  ModelInputs prepareModelInputs(List<String> prompts, List<List<RgbImage>> images);

  /** Token ids of a text with the family's tokenizer (special-token strings become their ids; nothing added). */
  long[] encode(String text);

  /** Completion texts as VLM-R1's batch_decode(skip_special_tokens=True) gives them (masked tokens dropped). */
  List<String> decodeCompletions(long[][] ids, long[][] mask);

  /** Ids that end a completion (any of them). */
  long[] eosTokenIds();

  /** The text of the first EOS id (Qwen's {@code <|im_end|>}): what ends an answer in a supervised target. */
  String eosText();

  /** The padding id (left padding and after a completion's EOS). */
  long padTokenId();

  /** The family's reward for {@code --is_reward_customized_from_vlm_module} (rec: accuracy and format). */
  RewardFunction selectRewardFunction(String func, String taskType);
}
