// Gradient checkpointing by hand (libtorch's C++ API has no torch.utils.checkpoint): a pass split into segments runs
// without autograd, keeping only each segment's input; the backward recomputes one segment at a time with autograd,
// last first, and hands each input's gradient to the segment before it.
package org.vlmr1.model;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * One checkpointed training pass. Run it inside the caller's PointerScope: the kept inputs belong to that scope;
 * each segment's temporaries live in a scope of their own, so only the kept inputs and one segment's activations are
 * alive at once. Segments must be deterministic functions of their input (LoRA dropout is: its masks are keyed, and
 * the recompute runs in the LoRA state the forward ran in).
 */
public final class CheckpointedPass {
  /** One segment: its output from its input (null for the first segment, which starts from the batch). */
  @FunctionalInterface
  public interface Segment {
    Tensor apply(Tensor input);
  }

  private final List<Segment> segments;
  private final Tensor[] inputs;         // inputs[i]: segment i's input, no autograd history (inputs[0] null)
  private final Tensor output;           // the last segment's output, a leaf that requires grad
  private final LoraAdapters lora;       // the model's adapters, or null
  private final LoraAdapters.Pass pass;  // the adapters' state during the forward, replayed by the recompute

  private CheckpointedPass(List<Segment> segments, Tensor[] inputs, Tensor output, LoraAdapters lora) {
    this.segments = segments;
    this.inputs = inputs;
    this.output = output;
    this.lora = lora;
    this.pass = lora == null ? null : lora.pass();
  }

  /**
   * Runs {@code segments} in order without autograd, keeping each one's input.
   *
   * @param lora the model's adapters (their thread state is captured here and replayed by {@link #backward}), or null
   */
  public static CheckpointedPass run(List<Segment> segments, LoraAdapters lora) {
    if (segments.isEmpty()) {
      throw new IllegalArgumentException("a checkpointed pass needs at least one segment");
    }
    PointerScope outer = PointerScope.getInnerScope();
    if (outer == null) {
      throw new IllegalStateException("run a checkpointed pass inside a PointerScope: it owns the kept inputs");
    }
    Tensor[] inputs = new Tensor[segments.size()];
    Tensor x = null;
    try (NoGradGuard ng = new NoGradGuard()) {
      for (int i = 0; i < segments.size(); i++) {
        inputs[i] = x;
        try (PointerScope s = new PointerScope()) {
          x = segments.get(i).apply(x);
          outer.attach(x);                    // kept: outlives this segment's scope
        }
      }
    }
    return new CheckpointedPass(List.copyOf(segments), inputs, x.requires_grad_(true), lora);
  }

  /**
   * The pass's output without autograd history, as a leaf that requires grad: backward through whatever the caller
   * builds on it accumulates into its {@code grad()}, which {@link #backward} carries through the segments.
   */
  public Tensor output() {
    return output;
  }

  /** The tensors kept between the forward and the backward: each segment's input (the first has none). */
  public List<Tensor> keptInputs() {
    return java.util.Arrays.asList(inputs).subList(1, inputs.length);
  }

  /**
   * Continues the backward from the gradient that reached {@link #output}: recomputes the segments last first, each
   * with autograd from its kept input, and back-propagates the gradient of its output into the parameters and its
   * input, whose gradient the segment before it takes. Does nothing when no gradient reached the output. Call once.
   */
  public void backward() {
    Tensor g = output.grad();                 // in the caller's scope
    if (!g.defined()) {
      return;
    }
    boolean owned = false;                    // whether g is a gradient this method retained
    try (AutoGradMode grad = new AutoGradMode(true);
        LoraAdapters.Off replay = lora == null ? null : lora.resume(pass)) {
      for (int i = segments.size() - 1; i >= 0 && g != null; i--) {
        Tensor next = null;
        try (PointerScope s = new PointerScope()) {
          Tensor in = inputs[i] == null ? null : inputs[i].detach().requires_grad_(true);
          Tensor out = segments.get(i).apply(in);
          // the first segment may hold no trainable parameter (LoRA with frozen embeddings): nothing to do there
          if (out.requires_grad()) {
            out.backward(g, new BoolOptional(), false, null);
            if (in != null && in.grad().defined()) {
              // grad() is a reference into in (freed with this scope): detach() gives a tensor of its own
              next = in.grad().detach();
              next.retainReference();          // outlives this segment's scope; released below
            }
          }
        }
        if (owned) {
          g.releaseReference();
        }
        g = next;
        owned = true;
      }
      if (owned && g != null) {
        g.releaseReference();
      }
    }
  }
}
