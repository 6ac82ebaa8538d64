// One rollout (generated completions) of a micro-batch, kept in Java arrays across a step's stages, and its prompt +
// completion rebuilt as tensors for each forward pass (policy, reference, rollout-time log-probs). Its multimodal
// tensors stay on the model's device from generation until the round ends, so the images cross to the device once.
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.data.Example;
import org.vlmr1.kernels.Devices;
import org.vlmr1.util.InputFrame;

/**
 * @param frames each example's image input frames (the rewards' box rescale), empty where the family has none
 * @param multimodal the family's tensors (and frozen-vision outputs) on the model's device, as generation used them;
 *     each holds a reference the rollout owns until {@link #close}
 * @param completionIds (B, C), the pad id after a row's EOS; completionMask (B, C) through the first EOS
 * @param firstSample the global sample index of row 0 (row b is firstSample + b)
 * @param prompts the rendered prompt texts
 * @param imageFailed rows whose example's images failed to decode (--on_bad_sample skip): rendered without images,
 *     and skipped by the scoring, which also zeroes their completion mask
 */
record Rollout(List<Example> examples, long firstSample, List<String> prompts, long[][] promptIds,
    long[][] promptMask, List<List<InputFrame>> frames,
    Map<String, Tensor> multimodal, long[][] completionIds, long[][] completionMask, List<String> texts,
    boolean[] imageFailed) implements AutoCloseable {

  /**
   * {@code tensors} kept for a rollout's lifetime: each gets a reference of its own (so the PointerScope that made
   * them can close), in an unmodifiable map.
   */
  static Map<String, Tensor> keep(Map<String, Tensor> tensors) {
    Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    tensors.forEach((k, t) -> {
      t.retainReference();
      out.put(k, t);
    });
    return java.util.Collections.unmodifiableMap(out);
  }

  /** Releases the multimodal tensors' references (once: the round that holds the rollout closes it). */
  @Override
  public void close() {
    multimodal.values().forEach(Tensor::releaseReference);
  }

  /** A micro-batch's prompt + completion as the forward pass takes it. */
  record LossInputs(Tensor ids, Tensor mask, Map<String, Tensor> multimodal,
      Tensor completionIds, Tensor completionMask, int promptLength, int completionLength) {}

  /**
   * Tensors for one forward pass over prompt + completion, on {@code device} (the model's): the ids and mask are new
   * (in the caller's PointerScope) and cross to the device once, the completion's being views of them; the
   * multimodal tensors are the rollout's own, already there.
   */
  static LossInputs lossInputs(Rollout r, org.bytedeco.pytorch.Device device) {
    int p = r.promptIds()[0].length;
    int c = r.completionIds()[0].length;
    Tensor ids = Devices.moved(torch.cat(new TensorVector(tensor(r.promptIds()), tensor(r.completionIds())), 1),
        device);                                                                                       // (B, P+C)
    Tensor mask = Devices.moved(torch.cat(new TensorVector(tensor(r.promptMask()), tensor(r.completionMask())), 1),
        device);                                                                                       // (B, P+C)
    Map<String, Tensor> mm = Devices.moved(r.multimodal(), device); // a new map of the same tensors
    return new LossInputs(ids, mask, mm, ids.narrow(1, p, c).contiguous(), mask.narrow(1, p, c).contiguous(), p, c);
  }

  static Tensor tensor(long[][] rows) {
    int b = rows.length;
    int n = b == 0 ? 0 : rows[0].length;
    long[] flat = new long[b * n];
    for (int i = 0; i < b; i++) {
      System.arraycopy(rows[i], 0, flat, i * n, n);
    }
    return torch.tensor(flat).reshape(b, n);
  }

  static long[][] rows(Tensor t) {
    int b = (int) t.size(0);
    int n = (int) t.size(1);
    long[] flat = new long[b * n];
    org.vlmr1.kernels.Devices.host(t).contiguous().data_ptr_long().get(flat);
    long[][] out = new long[b][n];
    for (int i = 0; i < b; i++) {
      System.arraycopy(flat, i * n, out[i], 0, n);
    }
    return out;
  }
}
