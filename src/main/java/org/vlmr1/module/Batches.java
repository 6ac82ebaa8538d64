// What every family's module does the same way around its own preprocessing: left padding a batch of token rows,
// tokenising with a tokenizer that may be missing, and decoding completions as VLM-R1's batch_decode does.
package org.vlmr1.module;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;

/** Batch helpers shared by the VLM modules. */
public final class Batches {
  private Batches() {}

  /** A left-padded batch: ids (B, L) int64 and its attention mask (0 on the padding). */
  public record Padded(Tensor inputIds, Tensor attentionMask) {}

  /** Pads every row on the left with {@code pad} to the longest row. */
  public static Padded leftPad(List<long[]> rows, long pad) {
    int b = rows.size();
    int maxLen = 0;
    for (long[] r : rows) {
      maxLen = Math.max(maxLen, r.length);
    }
    long[] ids = new long[b * maxLen];
    long[] mask = new long[b * maxLen];
    for (int i = 0; i < b; i++) {
      long[] row = rows.get(i);
      int off = i * maxLen + (maxLen - row.length);
      Arrays.fill(ids, i * maxLen, off, pad);
      System.arraycopy(row, 0, ids, off, row.length);
      Arrays.fill(mask, off, (i + 1) * maxLen, 1L);
    }
    TorchRuntime.load();
    return new Padded(torch.tensor(ids).reshape(b, maxLen), torch.tensor(mask).reshape(b, maxLen));
  }

  /** Token ids of a text (special-token strings become their ids; nothing added); a clear error without one. */
  public static long[] encode(HfTokenizer tokenizer, String text) {
    return require(tokenizer, "tokenising").encode(text);
  }

  /** The text of one token id, special tokens included (e.g. the EOS an SFT target ends with). */
  public static String tokenText(HfTokenizer tokenizer, long id) {
    return require(tokenizer, "decoding a token").decode(new long[] {id}, false);
  }

  /**
   * Completion texts as VLM-R1's batch_decode(skip_special_tokens=True) gives them: each row up to its mask's end.
   */
  public static List<String> decodeCompletions(HfTokenizer tokenizer, long[][] ids, long[][] mask) {
    HfTokenizer tok = require(tokenizer, "decoding completions");
    List<String> out = new ArrayList<>(ids.length);
    for (int r = 0; r < ids.length; r++) {
      int n = 0;
      while (n < mask[r].length && mask[r][n] == 1) {
        n++;
      }
      out.add(tok.decode(Arrays.copyOf(ids[r], n), true));
    }
    return out;
  }

  private static HfTokenizer require(HfTokenizer tokenizer, String what) {
    if (tokenizer == null) {
      throw new IllegalStateException(what + " needs a tokenizer.json: the checkpoint has none; give --tokenizer");
    }
    return tokenizer;
  }
}
