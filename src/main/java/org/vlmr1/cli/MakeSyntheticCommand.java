// bin/vlmr1 make-synthetic: a synthetic REC dataset in VLM-R1's JSONL layout.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.vlmr1.data.SyntheticRec;

/** The make-synthetic command. */
final class MakeSyntheticCommand implements Command {
  @Override
  public String name() {
    return "make-synthetic";
  }

  @Override
  public String summary() {
    return "write a synthetic REC dataset (coloured shapes, VLM-R1 JSONL + images)";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(FlagSpec.value("out", null, "output folder (data.jsonl, images/)"), OutputFolder.OVERWRITE,
        FlagSpec.value("n", "100", "examples"), FlagSpec.value("width", "112", "image width"),
        FlagSpec.value("height", "84", "image height"), FlagSpec.value("seed", "0", "seed"),
        FlagSpec.value("layout", "free", "free (anywhere) or grid (one shape per cell, centred)"),
        FlagSpec.value("cell", "28", "grid cell in pixels (28: one Qwen2.5-VL vision token)"),
        FlagSpec.value("background", "flat", "flat (grey) or gradient (colour codes the position)"),
        FlagSpec.value("min_shapes", "2", "fewest shapes per image"),
        FlagSpec.value("max_shapes", "3", "most shapes per image (up to 4, one colour each)"));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("out") == null) {
      throw new UsageException("make-synthetic needs --out DIR");
    }
    SyntheticRec.Spec spec;
    try {
      spec = new SyntheticRec.Spec(f.getInt("width"), f.getInt("height"),
          f.getEnum("layout", SyntheticRec.Layout.class), f.getInt("cell"),
          f.getEnum("background", SyntheticRec.Background.class),
          f.getInt("min_shapes"), f.getInt("max_shapes"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("make-synthetic: " + e.getMessage());
    }
    OutputFolder.check(Path.of(f.get("out")), f);
    Path jsonl = SyntheticRec.write(Path.of(f.get("out")), f.getInt("n"), spec, Long.parseLong(f.get("seed")));
    System.out.println("wrote " + jsonl + " (train with --data_file_paths " + jsonl + " --image_folders "
        + Path.of(f.get("out")) + ")");
    return 0;
  }
}
