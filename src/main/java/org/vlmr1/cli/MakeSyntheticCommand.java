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
    return List.of(FlagSpec.value("out", null, "output folder (data.jsonl, images/)"),
        FlagSpec.value("n", "100", "examples"), FlagSpec.value("width", "112", "image width"),
        FlagSpec.value("height", "84", "image height"), FlagSpec.value("seed", "0", "seed"));
  }

  @Override
  public int run(Flags f) throws Exception {
    if (f.get("out") == null) {
      throw new UsageException("make-synthetic needs --out DIR");
    }
    Path jsonl = SyntheticRec.write(Path.of(f.get("out")), f.getInt("n"), f.getInt("width"), f.getInt("height"),
        Long.parseLong(f.get("seed")));
    System.out.println("wrote " + jsonl + " (train with --data_file_paths " + jsonl + " --image_folders "
        + Path.of(f.get("out")) + ")");
    return 0;
  }
}
