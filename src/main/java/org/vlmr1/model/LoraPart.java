// Where a family computes one PEFT module in pieces under other names: InternLM2's packed attention.wqkv runs here as
// the unpacked q_proj, k_proj and v_proj, each a strided slice of the packed output rows; wo, w1-w3 and output are
// renames. The adapter stays PEFT's (one A, one B over the packed output); each piece uses its rows of B.
package org.vlmr1.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The piece of PEFT module {@code module} that one internal linear module computes: with the module's output rows
 * viewed as (groups, rowsPerGroup), rows {@code offset..offset+length-1} of every group, group-major. A rename is
 * {@link #whole}: one group, every row (rowsPerGroup and length -1).
 *
 * @param module the PEFT module path (e.g. {@code language_model.model.layers.0.attention.wqkv})
 * @param groups how many equal row groups the packed output has (InternLM2: the KV heads)
 * @param rowsPerGroup rows of each group (InternLM2: (heads per KV head + 2) x head_dim), -1 for a rename
 * @param offset first row of the piece within each group
 * @param length rows of the piece per group, -1 for a rename
 */
public record LoraPart(String module, int groups, long rowsPerGroup, long offset, long length) {
  public LoraPart {
    boolean whole = groups == 1 && rowsPerGroup == -1 && offset == 0 && length == -1;
    if (module == null || !whole && (groups < 1 || offset < 0 || length < 1 || offset + length > rowsPerGroup)) {
      throw new IllegalArgumentException("bad LoRA part of " + module + ": groups " + groups + ", rows per group "
          + rowsPerGroup + ", offset " + offset + ", length " + length);
    }
  }

  /** The whole module under another name. */
  public static LoraPart whole(String module) {
    return new LoraPart(module, 1, -1, 0, -1);
  }

  /**
   * Whether this piece ends each group (InternLM2's v_proj), or is the whole module: the model computes a packed
   * module's pieces in row order, one after another on the same input, so this one is its last.
   */
  public boolean last() {
    return length < 0 || offset + length == rowsPerGroup;
  }

  /** The piece's rows of {@code t} (packed out, ...), in the internal module's row order: (groups x length, ...). */
  public Tensor rows(Tensor t) {
    if (length < 0) {
      return t;
    }
    long[] shape = t.sizes().vec().get();
    if (shape[0] != groups * rowsPerGroup) {
      throw new IllegalArgumentException(module + " has " + shape[0] + " output rows, its pieces expect " + groups
          + " x " + rowsPerGroup);
    }
    long[] view = new long[shape.length + 1];
    view[0] = groups;
    view[1] = rowsPerGroup;
    System.arraycopy(shape, 1, view, 2, shape.length - 1);
    shape[0] = groups * length;
    return t.reshape(view).narrow(1, offset, length).reshape(shape);                       // (groups x length, ...)
  }
}
