// What a VLM module's prepareModelInputs returns: the batch tensors under their VLM-R1 names plus per-example extras.
package org.vlmr1.module;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.util.InputFrame;

/**
 * A prepared batch (CONVENTIONS.md "Batches"): left padded, images in prompt order.
 *
 * @param inputIds (B, L) int64
 * @param attentionMask (B, L) int64, 0 on the left padding
 * @param multimodal the family's custom multimodal tensors by VLM-R1 name, in the module's keyword order (Qwen:
 *     {@code pixel_values} (sum t*h*w, 1176) float32 and {@code image_grid_thw} (images, 3) int64)
 * @param perExample one entry per example: the input frames of that example's own images (VLM-R1 keeps one
 *     image_grid_thw row per image of the batch, which breaks multi-image examples)
 */
public record ModelInputs(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal,
    List<ExampleVision> perExample) {
  public ModelInputs {
    multimodal = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(multimodal));
    perExample = List.copyOf(perExample);
  }

  /**
   * The multimodal tensors a family's {@link VlmModule#customMultimodalKeywords} names, in that order (VLM-R1's
   * {@code {k: prompt_inputs[k] for k in custom_multimodal_keywords}}): what every forward pass takes.
   */
  public Map<String, Tensor> multimodal(List<String> keywords) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String k : keywords) {
      Tensor t = multimodal.get(k);
      if (t != null) {
        out.put(k, t);
      }
    }
    return out;
  }

  /**
   * This batch on {@code device} (--device): every tensor copied there once (images are decoded and preprocessed on
   * the CPU); the same record when it is already there, so a CPU run keeps its very tensors.
   */
  public ModelInputs to(org.bytedeco.pytorch.Device device) {
    Tensor ids = org.vlmr1.kernels.Devices.moved(inputIds, device);
    Tensor mask = org.vlmr1.kernels.Devices.moved(attentionMask, device);
    Map<String, Tensor> mm = org.vlmr1.kernels.Devices.moved(multimodal, device);
    boolean same = ids == inputIds && mask == attentionMask;
    for (Map.Entry<String, Tensor> e : mm.entrySet()) {
      same &= e.getValue() == multimodal.get(e.getKey());
    }
    return same ? this : new ModelInputs(ids, mask, mm, perExample);
  }

  /**
   * The vision facts of one example the rewards need.
   *
   * @param inputFrames the frames the model sees of the example's images, in order, when the family writes absolute
   *     coordinates in them (Qwen2.5-VL); empty otherwise (InternVL's boxes are relative)
   */
  public record ExampleVision(List<InputFrame> inputFrames) {
    public ExampleVision {
      inputFrames = List.copyOf(inputFrames);
    }
  }
}
