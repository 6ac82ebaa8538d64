// The module options every model command reads the same way: tokenizer, explicit token ids, and the processing
// keywords of every registered family (declared from the registry, so the CLI names no family's settings; the
// registry refuses a keyword the checkpoint's family does not declare).
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.ProcessingKeyword;
import org.vlmr1.module.VlmModules;

/** Builds {@link ModuleOptions} from whichever of those flags a command declares. */
final class ModuleFlags {
  private ModuleFlags() {}

  /** One flag per processing keyword of the registered families, its help naming the family. */
  static List<FlagSpec> processingFlags() {
    Map<String, String> help = new LinkedHashMap<>();
    VlmModules.processingKeywords().forEach((family, keywords) -> {
      for (ProcessingKeyword k : keywords) {
        help.merge(k.name(), family + ": " + k.help(), (a, b) -> a + "; " + b);
      }
    });
    List<FlagSpec> out = new ArrayList<>();
    help.forEach((name, text) -> out.add(FlagSpec.value(name, null, text)));
    return out;
  }

  /** {@code base} followed by the processing-keyword flags. */
  static List<FlagSpec> withProcessing(List<FlagSpec> base) {
    List<FlagSpec> out = new ArrayList<>(base);
    out.addAll(processingFlags());
    return List.copyOf(out);
  }

  static ModuleOptions options(Flags f) {
    Map<String, String> processing = new LinkedHashMap<>();
    for (FlagSpec s : processingFlags()) {
      String v = f.getIfDeclared(s.name());
      if (v != null) {
        processing.put(s.name(), v);
      }
    }
    return new ModuleOptions(path(f.getIfDeclared("tokenizer")), processing, number(f.getIfDeclared("eos_token_id")),
        number(f.getIfDeclared("pad_token_id")), number(f.getIfDeclared("image_token_id")),
        number(f.getIfDeclared("img_context_token_id")));
  }

  /**
   * The family module of {@code model} with the processing flags of {@code f}; a bad module flag (another family's
   * processing keyword) is a usage error, as in train (sft, eval, prepare, forward and generate exited 1 with the
   * stack-trace hint).
   */
  static org.vlmr1.module.VlmModule module(Path model, String vlm, Flags f) throws java.io.IOException {
    try {
      return org.vlmr1.module.VlmModules.forCheckpoint(model, vlm, options(f));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static Path path(String s) {
    return s == null ? null : Path.of(s);
  }

  private static Long number(String s) {
    try {
      return s == null ? null : Long.valueOf(s);
    } catch (NumberFormatException e) {
      throw new UsageException("expected an integer, got '" + s + "'");
    }
  }
}
