// The module options every model command reads the same way: tokenizer, Qwen pixel limits and explicit token ids.
package org.vlmr1.cli;

import java.nio.file.Path;
import org.vlmr1.module.ModuleOptions;

/** Builds {@link ModuleOptions} from whichever of those flags a command declares. */
final class ModuleFlags {
  private ModuleFlags() {}

  static ModuleOptions options(Flags f) {
    return new ModuleOptions(path(f.getIfDeclared("tokenizer")), number(f.getIfDeclared("min_pixels")),
        number(f.getIfDeclared("max_pixels")), integer(f.getIfDeclared("max_anyres_num")),
        number(f.getIfDeclared("eos_token_id")), number(f.getIfDeclared("pad_token_id")),
        number(f.getIfDeclared("image_token_id")), number(f.getIfDeclared("img_context_token_id")));
  }

  private static Integer integer(String s) {
    Long n = number(s);
    return n == null ? null : Math.toIntExact(n);
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
