// The VLM module contract: everything the trainer needs from a model family, typed (VLM-R1's VLMBaseModule hooks,
// VLM-R1-SPEC.md 1.1). The trainer calls nothing family-specific except through this interface.
package org.vlmr1.module;

import java.util.List;
import org.vlmr1.data.RgbImage;
import org.vlmr1.reward.RewardFunction;

/**
 * One model family. Implementations are found by {@link VlmModules} from a checkpoint's {@code config.json}. The
 * model-side hooks ({@code modelClass}, {@code postModelInit}) arrive with the family's model.
 */
public interface VlmModule {
  /** "qwen" or "internvl" (VLM-R1's get_vlm_key). */
  String vlmKey();

  /** Parameter-name substrings of the vision tower: frozen by --freeze_vision_modules, excluded from LoRA. */
  List<String> visionModulesKeywords();

  /** Names of the multimodal tensors that every forward pass takes (Qwen: pixel_values, image_grid_thw). */
  List<String> customMultimodalKeywords();

  /** Inputs that the forward pass takes but generation does not (InternVL: image_flags). */
  List<String> nonGenerateParams();

  /** Processor settings the trainer applies from its configuration. */
  List<ProcessingKeyword> customProcessingKeywords();

  /** Whether generation returns only the new tokens (true) or prompt + completion (false). */
  boolean isEmbedsInput();

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

  /** The padding id (left padding and after a completion's EOS). */
  long padTokenId();

  /** The family's reward for {@code --is_reward_customized_from_vlm_module} (rec: accuracy and format). */
  RewardFunction selectRewardFunction(String func, String taskType);
}
