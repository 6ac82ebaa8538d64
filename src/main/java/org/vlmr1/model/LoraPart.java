// Where a family computes one PEFT module in pieces under other names: InternLM2's packed attention.wqkv runs here as
// the unpacked q_proj, k_proj and v_proj, each a strided slice of the packed output rows; wo, w1-w3 and output are
// renames. The adapter stays PEFT's (one A, one B over the packed output); each piece uses its rows of B.
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The piece of PEFT module {@code module} that one internal linear module computes: with the module's output rows
 * viewed as (groups, rows per group), rows {@code offset..offset+length-1} of every group, group-major; length -1
 * means every row (a rename).
 *
 * @param module the PEFT module path (e.g. {@code language_model.model.layers.0.attention.wqkv})
 * @param groups how many equal row groups the packed output has (InternLM2: the KV heads)
 * @param offset first row of the piece within each group
 * @param length rows of the piece per group, or -1 for all rows
 */
public record LoraPart(String module, int groups, long offset, long length) {
  public LoraPart {
    if (module == null || groups < 1 || offset < 0 || length < -1 || length == 0 || (length < 0 && offset != 0)) {
      throw new IllegalArgumentException("bad LoRA part " + module + " groups " + groups + " offset " + offset
          + " length " + length);
    }
  }

  /** The whole module under another name. */
  public static LoraPart whole(String module) {
    return new LoraPart(module, 1, 0, -1);
  }

  /** The piece's rows of {@code t} (packed out, ...) in the internal module's row order: (groups * length, ...). */
  public Tensor rows(Tensor t) {
    if (length < 0) {
      return t;
    }
    long[] shape = t.sizes().vec().get();
    long[] grouped = shape.clone();
    grouped[0] = shape[0] / groups;
    long[] view = new long[shape.length + 1];
    view[0] = groups;
    System.arraycopy(grouped, 0, view, 1, grouped.length);
    shape[0] = groups * length;
    return t.reshape(view).narrow(1, offset, length).reshape(shape);                       // (groups * length, ...)
  }
}
