// A Hugging Face tokenizer.json, loaded offline through DJL's tokenizers binding (JAVACPP-NOTES.md section 7).
package org.vlmr1.module;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Encodes and decodes with a tokenizer.json; no special tokens are added. Thread-safe. Close to free it. */
public final class HfTokenizer implements AutoCloseable {
  /** Held so that java.util.logging keeps the level: DJL's INFO lines (platform detection) are noise here. */
  private static final java.util.logging.Logger DJL_LOG = java.util.logging.Logger.getLogger("ai.djl");
  /**
   * DJL's platform detection asks the CUDA runtime for a GPU count when the tokenizers library loads, and on a
   * machine with a CUDA runtime but no usable driver warns "Failed to detect GPU count: CUDA driver version is
   * insufficient" twice per load. vlmr1 never runs DJL on a GPU (libtorch finds its own devices), so the warning
   * only misleads: that one logger is raised to SEVERE. (The property ai.djl.util.cuda.fork would instead start a
   * child JVM to ask.)
   */
  private static final java.util.logging.Logger DJL_CUDA_LOG =
      java.util.logging.Logger.getLogger("ai.djl.util.cuda.CudaUtils");

  static {
    DJL_LOG.setLevel(java.util.logging.Level.WARNING);
    DJL_CUDA_LOG.setLevel(java.util.logging.Level.SEVERE);
    // DJL reads EC2 metadata ("telemetry") on first use unless told not to; this project never reaches the network.
    if (System.getProperty("OPT_OUT_TRACKING") == null) {
      System.setProperty("OPT_OUT_TRACKING", "true");
    }
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }

  private final HuggingFaceTokenizer tokenizer;
  private final Path file;

  private HfTokenizer(HuggingFaceTokenizer tokenizer, Path file) {
    this.tokenizer = tokenizer;
    this.file = file;
  }

  /** Loads {@code tokenizer.json}, or the one in the given folder (a model checkpoint folder works). */
  public static HfTokenizer load(Path path) {
    Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no tokenizer.json at " + path);
    }
    try {
      // No truncation or padding: DJL otherwise caps encodings at a model_max_length of 512 tokens.
      Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
          "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
      return new HfTokenizer(HuggingFaceTokenizer.newInstance(file, options), file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the tokenizer " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // The Rust parser's message ("key must be a string at line 1 column 2") names no file.
      String msg = file + " is not a valid tokenizer.json: " + e.getMessage();
      throw new UncheckedIOException(msg, new IOException(msg, e));
    }
  }

  /** Token ids of a text (special-token strings such as {@code <|im_start|>} become their single ids). */
  /** The id of {@code token} when this tokenizer encodes it as one token, else null (e.g. not an added token). */
  public static Long singleId(HfTokenizer tok, String token) {
    if (tok == null) {
      return null;
    }
    long[] ids = tok.encode(token);
    return ids.length == 1 ? ids[0] : null;
  }

  public long[] encode(String text) {
    Encoding e = tokenizer.encode(text);
    return e.getIds();
  }

  /** Number of tokens of a text. */
  public int count(String text) {
    return encode(text).length;
  }

  /** Text of ids; {@code skipSpecialTokens} drops added special tokens, as batch_decode does in VLM-R1. */
  public String decode(long[] ids, boolean skipSpecialTokens) {
    return tokenizer.decode(ids, skipSpecialTokens);
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
