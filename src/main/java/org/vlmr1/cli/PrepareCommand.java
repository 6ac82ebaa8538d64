// bin/vlmr1 prepare: one example through the family's preparePrompt + prepareModelInputs, written as safetensors
// under VLM-R1's tensor names (how parity with the Hugging Face processor is checked).
package org.vlmr1.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.data.RgbImage;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.module.Conversation;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.ModelInputs;
import org.vlmr1.module.VlmModule;

/** The prepare command. */
final class PrepareCommand implements Command {
  @Override
  public String name() {
    return "prepare";
  }

  @Override
  public String summary() {
    return "tokenise one prompt with its images as the model family does; write input_ids, attention_mask and the "
        + "multimodal tensors";
  }

  @Override
  public List<FlagSpec> flags() {
    return ModuleFlags.withProcessing(List.of(
        FlagSpec.value("model", null, "checkpoint folder (config.json; tokenizer.json unless --tokenizer), or a "
            + "Hugging Face id (ORG/NAME) already in the local cache"),
        FlagSpec.value("tokenizer", null, "tokenizer.json or its folder (default: the checkpoint's)"),
        FlagSpec.list("image", null, "image files, in prompt order (repeat the flag or list them)"),
        FlagSpec.value("text", null, "the user text (the question)"),
        FlagSpec.value("task_type", null, "wrap --text in the family's question template for this task (rec, ...)"),
        FlagSpec.value("vlm", null, "family override (qwen, internvl); default: config.json's model_type"),
        FlagSpec.value("image_token_id", null, "explicit <|image_pad|> id (Qwen)"),
        FlagSpec.value("img_context_token_id", null, "explicit <IMG_CONTEXT> id (InternVL)"),
        FlagSpec.value("out", null, "output .safetensors file"),
        FlagSpec.bool("print_prompt", "print the rendered prompt text")));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("model") == null || f.get("text") == null || f.get("out") == null) {
      throw new UsageException("prepare needs --model DIR, --text TEXT and --out FILE.safetensors");
    }
    VlmModule module = ModuleFlags.module(HubCache.resolve(f.get("model"), f.env()), f.get("vlm"), f);
    List<RgbImage> images = new ArrayList<>();
    for (String p : f.getList("image")) {
      try {
        images.add(RgbImage.read(Path.of(p)));
      } catch (IOException e) {
        throw new UncheckedIOException("--image " + p + ": " + e.getMessage(), e);
      }
    }
    String text = f.get("task_type") != null
        ? module.questionTemplate(f.get("task_type")).replace("{Question}", f.get("text")) : f.get("text");
    String prompt = module.preparePrompt(List.of(Conversation.userTurn(images.size(), text))).get(0);
    if (f.getBoolean("print_prompt")) {
      System.out.println(prompt);
    }
    TorchRuntime.load();
    try (PointerScope scope = new PointerScope()) {
      ModelInputs in = module.prepareModelInputs(List.of(prompt), List.of(images));
      Map<String, Tensor> out = new LinkedHashMap<>();
      out.put("input_ids", in.inputIds());
      out.put("attention_mask", in.attentionMask());
      out.putAll(in.multimodal());
      SafeTensorsWriter.write(Path.of(f.get("out")), out);
      System.err.printf("prepare: %d tokens, %d images -> %s%n", in.inputIds().size(1), images.size(), f.get("out"));
    }
    return 0;
  }
}
