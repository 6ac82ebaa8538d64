// bin/vlmr1 forward and generate: run a checkpoint on prepared inputs (safetensors in, safetensors out). They read
// ids only, so a checkpoint without tokenizer files works given config.json (CONVENTIONS.md "Files exchanged").
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.DeviceSpec;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.kernels.Devices;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.model.SamplingConfig;
import org.vlmr1.model.Weights;
import org.vlmr1.module.HubCache;
import org.vlmr1.module.VlmModule;
import org.vlmr1.model.VlmModel;

/** The forward and generate commands. */
final class ModelCommands {
  private ModelCommands() {}

  static List<FlagSpec> common() {
    return List.of(
        FlagSpec.value("model", null, "checkpoint folder (config.json + safetensors), or a Hugging Face id "
            + "(ORG/NAME) already in the local cache"),
        FlagSpec.value("inputs", null, "safetensors with input_ids, attention_mask and the family's multimodal tensors "
            + "(Qwen: pixel_values, image_grid_thw; InternVL: pixel_values, image_flags)"),
        FlagSpec.value("out", null, "output .safetensors file"),
        FlagSpec.value("eos_token_id", null, "explicit EOS id"),
        FlagSpec.value("pad_token_id", null, "explicit pad id"),
        FlagSpec.value("image_token_id", null, "explicit <|image_pad|> id (Qwen)"),
        FlagSpec.value("img_context_token_id", null, "explicit <IMG_CONTEXT> id (InternVL)"),
        FlagSpec.value("vlm", null, "family override (qwen, internvl); default: config.json's model_type"),
        DeviceFlag.SPEC);
  }

  /**
   * The prepared batch of an inputs file.
   *
   * @param multimodal every tensor besides input_ids and attention_mask, by name (pixel_values, image_flags, ...)
   */
  record Batch(Tensor inputIds, Tensor attentionMask, Map<String, Tensor> multimodal) {
    /** This batch copied onto the model's device (itself on the CPU). */
    Batch to(org.bytedeco.pytorch.Device device) {
      return new Batch(Devices.moved(inputIds, device), Devices.moved(attentionMask, device),
          Devices.moved(multimodal, device));
    }

    Tensor pixelValues() {
      return multimodal.get("pixel_values");
    }
  }

  /**
   * The batch of {@code file}, whose tensors besides input_ids and attention_mask must be ones the family takes
   * ({@link VlmModule#customMultimodalKeywords}): a Qwen checkpoint ignored InternVL's pixel_values and image_flags
   * (no image_grid_thw) and ran text-only with exit 0.
   */
  static Batch readInputs(Path file, VlmModule module) throws Exception {
    SafeTensorsFile f = SafeTensorsFile.open(file);
    if (!f.entries().containsKey("input_ids")) {
      throw new UsageException(file + " has no input_ids");
    }
    List<String> takes = module.customMultimodalKeywords();
    for (String name : f.entries().keySet()) {
      if (!name.equals("input_ids") && !name.equals("attention_mask") && !takes.contains(name)) {
        throw new UsageException(file + " holds " + name + ", which the " + module.vlmKey() + " family does not "
            + "take (it takes input_ids, attention_mask, " + String.join(", ", takes) + ")");
      }
    }
    checkIds(file, f.entry("input_ids"), null);
    if (f.entries().containsKey("attention_mask")) {
      checkIds(file, f.entry("attention_mask"), f.entry("input_ids").shape());
    }
    Tensor ids = Weights.tensor(f, "input_ids");
    Tensor mask = f.entries().containsKey("attention_mask") ? Weights.tensor(f, "attention_mask") : null;
    Map<String, Tensor> mm = new LinkedHashMap<>();
    for (String name : f.entries().keySet()) {
      if (!name.equals("input_ids") && !name.equals("attention_mask")) {
        mm.put(name, Weights.tensor(f, name));
      }
    }
    return new Batch(ids, mask, mm);
  }

  /**
   * input_ids must be (B, L) integers and attention_mask, whose values are converted, of the same shape: anything
   * else failed deep inside the model with a libtorch message that named neither the file nor the tensor (an empty
   * (1, 0) input_ids made generate divide by zero).
   */
  private static void checkIds(Path file, SafeTensorsFile.Entry e, long[] idsShape) {
    if (idsShape == null && !List.of("I64", "I32").contains(e.dtype())) { // the mask's values are converted
      throw new UsageException(file + ": " + e.name() + " must be I64 or I32, got " + e.dtype());
    }
    if (e.shape().length != 2 || e.shape()[0] < 1 || e.shape()[1] < 1
        || idsShape != null && !java.util.Arrays.equals(e.shape(), idsShape)) {
      String want = idsShape == null ? "(batch, length), both >= 1"
          : "input_ids' shape " + java.util.Arrays.toString(idsShape);
      throw new UsageException(file + ": " + e.name() + " must be " + want + ", got "
          + java.util.Arrays.toString(e.shape()));
    }
  }

  /**
   * {@code b} when every input id is in [0, vocab): an id outside it failed inside the embedding lookup with libtorch's
   * "index out of range in self", naming neither the file nor the id.
   */
  static Batch checkVocabulary(Path file, Batch b, long vocab) {
    try (PointerScope s = new PointerScope()) {
      long min = b.inputIds().min().item_long();
      long max = b.inputIds().max().item_long();
      if (min < 0 || max >= vocab) {
        throw new UsageException(file + ": input_ids holds " + (min < 0 ? min : max) + ", outside the model's "
            + "vocabulary [0, " + vocab + ")");
      }
    }
    return b;
  }

  /** The family module of a checkpoint, ids from the flags (a checkpoint without tokenizer files works). */
  static VlmModule module(Flags f, Path model) throws Exception {
    return ModuleFlags.module(model, f.get("vlm"), f);
  }

  static void need(Flags f, String... names) {
    for (String n : names) {
      if (f.get(n) == null) {
        throw new UsageException("--" + n + " is required");
      }
    }
  }

  /** bin/vlmr1 forward. */
  static final class Forward implements Command {
    @Override
    public String name() {
      return "forward";
    }

    @Override
    public String summary() {
      return "run the model on prepared inputs; write logits, vision_embeds, position_ids, rope_deltas";
    }

    @Override
    public List<FlagSpec> flags() {
      return common();
    }

    @Override
    public int run(Flags f) throws Exception {
      need(f, "model", "inputs", "out");
      DeviceSpec.Resolved device = DeviceFlag.resolve(f); // a missing CUDA device is refused here
      Path model = HubCache.resolve(f.get("model"), f.env());
      TorchRuntime.load();
      VlmModule module = module(f, model);
      try (VlmModel vm = DeviceFlag.placed(module.loadModel(model), device); PointerScope s = new PointerScope()) {
        module.postModelInit(vm);
        Path inputs = Path.of(f.get("inputs"));
        Batch b = checkVocabulary(inputs, readInputs(inputs, module), vm.lmHead().size(0)).to(vm.device());
        Map<String, Tensor> out = vm.forwardOutputs(b.inputIds(), b.attentionMask(), b.multimodal());
        SafeTensorsWriter.write(Path.of(f.get("out")), out);
      }
      return 0;
    }
  }

  /** bin/vlmr1 generate. */
  static final class Generate implements Command {
    @Override
    public String name() {
      return "generate";
    }

    @Override
    public String summary() {
      return "generate completions for prepared inputs (greedy or sampled, KV cache); write generated_ids";
    }

    @Override
    public List<FlagSpec> flags() {
      List<FlagSpec> l = new ArrayList<>(common());
      l.add(FlagSpec.value("max_new_tokens", "256", "completion length limit"));
      l.add(FlagSpec.bool("greedy", "argmax decoding (no repetition penalty or other processor)"));
      l.add(FlagSpec.value("temperature", "1.0", "sampling temperature"));
      l.add(FlagSpec.value("top_k", "50", "sample among the k most likely tokens (0 = all)"));
      l.add(FlagSpec.value("top_p", "1.0", "nucleus sampling mass"));
      l.add(FlagSpec.value("seed", "42", "seed of the per-sample random streams"));
      return l;
    }

    @Override
    public int run(Flags f) throws Exception {
      need(f, "model", "inputs", "out");
      DeviceSpec.Resolved device = DeviceFlag.resolve(f); // a missing CUDA device is refused here
      Path model = HubCache.resolve(f.get("model"), f.env());
      TorchRuntime.load();
      VlmModule module = module(f, model);
      SamplingConfig cfg = new SamplingConfig(f.getBoolean("greedy"), f.getDouble("temperature"), f.getInt("top_k"),
          f.getDouble("top_p"), Long.parseLong(f.get("seed")), f.getInt("max_new_tokens"));
      List<String> unused = cfg.greedy() ? java.util.stream.Stream.of("temperature", "top_k", "top_p", "seed")
          .filter(f::has).map(n -> "--" + n).toList() : List.of();
      if (!unused.isEmpty()) { // transformers warns the same way when do_sample is False
        f.warnings().println("warning: --greedy takes the argmax: " + String.join(", ", unused) + " not used");
      }
      try (VlmModel m = DeviceFlag.placed(module.loadModel(model), device); PointerScope s = new PointerScope()) {
        module.postModelInit(m);
        Path inputs = Path.of(f.get("inputs"));
        Batch b = checkVocabulary(inputs, readInputs(inputs, module), m.lmHead().size(0)).to(m.device());
        long t0 = System.nanoTime();
        VlmModel.Generation r = module.completions(m.generate(b.inputIds(), b.attentionMask(), b.multimodal(), cfg,
            module.eosTokenIds(), module.padTokenId(), 0, 0), (int) b.inputIds().size(1));
        double sec = (System.nanoTime() - t0) / 1e9;
        int rows = r.ids().length;
        int n = rows == 0 ? 0 : r.ids()[0].length;
        long[] flat = new long[rows * n];
        long generated = 0;
        for (int i = 0; i < rows; i++) {
          System.arraycopy(r.ids()[i], 0, flat, i * n, n);
          for (long v : r.mask()[i]) {
            generated += v;
          }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("generated_ids", torch.tensor(flat).reshape(rows, n));
        SafeTensorsWriter.write(Path.of(f.get("out")), out);
        System.err.printf("generate: %d rows, %d tokens in %.2f s (%.1f tokens/s)%n", rows, generated, sec,
            generated / Math.max(sec, 1e-9));
      }
      return 0;
    }
  }
}
