// The constant answers of a family to the VLM module contract (VLM-R1's get_vlm_key, get_model_class,
// get_vision_modules_keywords, get_custom_multimodal_keywords, get_non_generate_params,
// get_custom_processing_keywords, is_embeds_input), stated once per family as data.
package org.vlmr1.module;

import java.util.List;
import org.vlmr1.model.VlmModel;

/**
 * @param vlmKey the family's key ("qwen", "internvl")
 * @param modelClass what {@link VlmModule#loadModel} instantiates
 * @param visionModulesKeywords parameter-name substrings of the vision tower
 * @param customMultimodalKeywords the tensors of prepareModelInputs every forward pass takes
 * @param nonGenerateParams of those, the ones withheld from generation
 * @param processingKeywords the processor settings the command line accepts for this family
 * @param embedsInput whether generation returns only the new tokens (VLM-R1's is_embeds_input)
 */
public record FamilyFacts(String vlmKey, Class<? extends VlmModel> modelClass, List<String> visionModulesKeywords,
    List<String> customMultimodalKeywords, List<String> nonGenerateParams, List<ProcessingKeyword> processingKeywords,
    boolean embedsInput) {
  public FamilyFacts {
    visionModulesKeywords = List.copyOf(visionModulesKeywords);
    customMultimodalKeywords = List.copyOf(customMultimodalKeywords);
    nonGenerateParams = List.copyOf(nonGenerateParams);
    processingKeywords = List.copyOf(processingKeywords);
    if (!customMultimodalKeywords.containsAll(nonGenerateParams)) {
      throw new IllegalArgumentException(vlmKey + ": non-generate params " + nonGenerateParams + " must be among the "
          + "multimodal keywords " + customMultimodalKeywords);
    }
  }
}
