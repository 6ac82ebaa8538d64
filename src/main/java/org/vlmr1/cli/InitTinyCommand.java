// bin/vlmr1 init-tiny: a tiny random checkpoint of a family for tests and the demo.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.vlmr1.module.qwen.QwenTiny;

/** The init-tiny command. */
final class InitTinyCommand implements Command {
  @Override
  public String name() {
    return "init-tiny";
  }

  @Override
  public String summary() {
    return "write a tiny random checkpoint (Hugging Face layout, real vocabulary and tokenizer) for tests and demos";
  }

  @Override
  public List<FlagSpec> flags() {
    QwenTiny.Spec d = QwenTiny.Spec.defaults();
    return List.of(
        FlagSpec.value("family", "qwen2_5_vl", "model_type to create: qwen2_5_vl, qwen2_vl or internvl_chat"),
        FlagSpec.value("out", null, "output folder"),
        FlagSpec.value("hidden_size", String.valueOf(d.hiddenSize()), "decoder hidden size"),
        FlagSpec.value("num_layers", String.valueOf(d.numLayers()), "decoder layers"),
        FlagSpec.value("num_heads", String.valueOf(d.numHeads()), "attention heads"),
        FlagSpec.value("num_kv_heads", String.valueOf(d.numKvHeads()), "key/value heads"),
        FlagSpec.value("intermediate_size", String.valueOf(d.intermediateSize()), "decoder MLP size"),
        FlagSpec.value("vision_depth", String.valueOf(d.visionDepth()), "vision blocks"),
        FlagSpec.value("vision_hidden_size", String.valueOf(d.visionHidden()), "vision hidden size"),
        FlagSpec.value("image_size", "56", "internvl_chat: tile side in pixels (a multiple of 28)"),
        FlagSpec.value("max_dynamic_patch", "6", "internvl_chat: most tiles per image in config.json"),
        FlagSpec.value("seed", "0", "initialisation seed"));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("out") == null) {
      throw new UsageException("init-tiny needs --out DIR");
    }
    String family = f.get("family");
    if (family.equals("internvl_chat")) {
      org.vlmr1.module.internvl.InternVlTiny.write(new org.vlmr1.module.internvl.InternVlTiny.Spec(
          f.getInt("hidden_size"), f.getInt("num_layers"), f.getInt("num_heads"), f.getInt("num_kv_heads"),
          f.getInt("intermediate_size"), f.getInt("vision_depth"), f.getInt("vision_hidden_size"), 2,
          f.getInt("image_size"), f.getInt("max_dynamic_patch"), Long.parseLong(f.get("seed"))), Path.of(f.get("out")));
      System.out.println("wrote a tiny internvl_chat checkpoint to " + f.get("out"));
      return 0;
    }
    if (!family.equals("qwen2_5_vl") && !family.equals("qwen2_vl")) {
      throw new UsageException("init-tiny --family " + family + " is unknown; known: qwen2_5_vl, qwen2_vl, "
          + "internvl_chat");
    }
    QwenTiny.Spec s = new QwenTiny.Spec(f.getInt("hidden_size"), f.getInt("num_layers"), f.getInt("num_heads"),
        f.getInt("num_kv_heads"), f.getInt("intermediate_size"), f.getInt("vision_depth"),
        f.getInt("vision_hidden_size"), 2, Long.parseLong(f.get("seed")));
    QwenTiny.write(s, Path.of(f.get("out")), family);
    System.out.println("wrote a tiny " + family + " checkpoint to " + f.get("out"));
    return 0;
  }
}
