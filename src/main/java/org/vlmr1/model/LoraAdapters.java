// LoRA adapters (PEFT's LoraLayer for nn.Linear): per targeted module A (r, in) and B (out, r), added to the layer's
// output as (alpha / r) (x A^T) B^T, plus PEFT's modules_to_save (trained copies of whole modules, used in place of
// the base parameters), with a per-thread switch that gives the base model back (PEFT's disable_adapter).
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The adapters of one model. Long-lived like {@link Weights}: each tensor holds a reference of its own; close()
 * frees them. Build it outside a PointerScope.
 */
public final class LoraAdapters implements AutoCloseable {
  /** PEFT's state-dict prefix of a PeftModelForCausalLM. */
  public static final String PEFT_PREFIX = "base_model.model.";
  // salt of the init draws' step slot: no optimizer step is negative, so init never shares a stream with sampling
  private static final long INIT_STEP = -1;

  private final LoraConfig cfg;
  private final Map<String, Tensor[]> byModule; // module path -> {A (r, in), B (out, r)}, name order
  private final Map<String, Tensor> saved; // modules_to_save: parameter name -> its trained copy, name order
  private final ThreadLocal<Boolean> off = ThreadLocal.withInitial(() -> false);
  private final ThreadLocal<LoraDropout> training = new ThreadLocal<>(); // keys of this thread's training pass
  private final ThreadLocal<Down> lastDown = new ThreadLocal<>(); // until a packed module's last piece ran

  private LoraAdapters(LoraConfig cfg, Map<String, Tensor[]> byModule, Map<String, Tensor> saved) {
    this.cfg = cfg;
    this.byModule = byModule;
    this.saved = saved;
  }

  /**
   * Fresh adapters: A kaiming-uniform with a = sqrt 5 as nn.Linear's default init (U(-1/sqrt(in), 1/sqrt(in))),
   * element j of module m drawn as TokenSampler.uniform(seed, -1, hash(m), j), so each module's values depend on its
   * name only; B zero, so the adapted model starts equal to the base.
   *
   * @param targets module path -> (out, in), from {@link LoraTargets#select}
   */
  public static LoraAdapters init(LoraConfig cfg, Map<String, long[]> targets, long seed) {
    return init(cfg, targets, Map.of(), seed);
  }

  /**
   * {@link #init} plus the modules_to_save copies: each base parameter cloned (PEFT's ModulesToSaveWrapper deep-copies
   * the module), so training starts from the base values.
   *
   * @param toSave parameter name (module path + "." + parameter) -> the base tensor it copies
   */
  public static LoraAdapters init(LoraConfig cfg, Map<String, long[]> targets, Map<String, Tensor> toSave,
      long seed) {
    Map<String, Tensor[]> m = new LinkedHashMap<>();
    try (org.bytedeco.javacpp.PointerScope s = new org.bytedeco.javacpp.PointerScope()) {
      for (Map.Entry<String, long[]> e : targets.entrySet()) {
        long out = e.getValue()[0];
        long in = e.getValue()[1];
        double bound = 1 / Math.sqrt(in); // gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in)
        long key = e.getKey().hashCode();
        if ((long) cfg.r() * in > Integer.MAX_VALUE - 8) { // a Java array's limit; Math.toIntExact said only
          throw new IllegalArgumentException("lora_r " + cfg.r() + " is too large for " + e.getKey() // "overflow"
              + ": its A matrix (" + cfg.r() + " x " + in + ") would exceed a Java array");
        }
        float[] a = new float[(int) (cfg.r() * in)];
        for (int j = 0; j < a.length; j++) {
          a[j] = (float) ((2 * TokenSampler.uniform(seed, INIT_STEP, key, j) - 1) * bound);
        }
        m.put(e.getKey(), new Tensor[] {torch.tensor(a).reshape(cfg.r(), in),
            torch.zeros(new long[] {out, cfg.r()}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Float))});
      }
      Map<String, Tensor> copies = new LinkedHashMap<>();
      try (org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
        toSave.forEach((k, base) -> copies.put(k, base.detach().clone()));
      }
      return of(cfg, m, copies); // its references outlive the scope's
    }
  }

  /**
   * Adapters over given tensors (loaded or hand-set): module path -> {A (r, in), B (out, r)}; each gets a reference
   * of its own (create them inside a PointerScope, as for any long-lived tensor).
   */
  public static LoraAdapters of(LoraConfig cfg, Map<String, Tensor[]> adapters) {
    return of(cfg, adapters, Map.of());
  }

  /**
   * {@link #of} plus modules_to_save copies (parameter name -> tensor), each given a reference of its own; the model
   * checks their names and shapes when they are attached.
   */
  public static LoraAdapters of(LoraConfig cfg, Map<String, Tensor[]> adapters, Map<String, Tensor> copies) {
    if (copies.isEmpty() != (cfg.modulesToSave() == null)) {
      throw new IllegalArgumentException(copies.isEmpty() ? "modules_to_save " + cfg.modulesToSave() + " but no "
          + "trained copy of them" : "trained copies of " + copies.keySet() + " but no modules_to_save");
    }
    Map<String, Tensor[]> m = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor[]> e : new java.util.TreeMap<>(adapters).entrySet()) {
      Tensor a = e.getValue()[0];
      Tensor b = e.getValue()[1];
      if (a.dim() != 2 || b.dim() != 2 || a.size(0) != cfg.r() || b.size(1) != cfg.r()) {
        throw new IllegalArgumentException("LoRA " + e.getKey() + ": A must be (r, in) and B (out, r) with r = "
            + cfg.r() + ", got " + java.util.Arrays.toString(a.sizes().vec().get()) + " and "
            + java.util.Arrays.toString(b.sizes().vec().get()));
      }
      a.retainReference();
      b.retainReference();
      m.put(e.getKey(), new Tensor[] {a, b});
    }
    Map<String, Tensor> c = new LinkedHashMap<>();
    new java.util.TreeMap<>(copies).forEach((k, t) -> {
      t.retainReference();
      c.put(k, t);
    });
    return new LoraAdapters(cfg, m, c);
  }

  public LoraConfig config() {
    return cfg;
  }

  /** The targeted module paths, in name order. */
  public List<String> modules() {
    return List.copyOf(byModule.keySet());
  }

  /** The modules_to_save copies' parameter names (module path + "." + parameter), in name order. */
  public List<String> savedParameters() {
    return List.copyOf(saved.keySet());
  }

  /** The trained copy of parameter {@code name} (modules_to_save), whether or not adapters are on; null if none. */
  public Tensor copyOf(String name) {
    return saved.get(name);
  }

  /**
   * The trained copy that stands for parameter {@code name} in this thread: its modules_to_save copy while adapters
   * are on (PEFT's ModulesToSaveWrapper with its adapter active), null otherwise (the base parameter serves).
   */
  public Tensor saved(String name) {
    return saved.isEmpty() || off.get() ? null : saved.get(name);
  }

  /** Whether {@code module} has an adapter and adapters are on in this thread. */
  public boolean active(String module) {
    return !off.get() && byModule.containsKey(module);
  }

  /**
   * {@code y} plus the module's LoRA term, (alpha / r) (x A^T) B^T, when it has an adapter and adapters are on in
   * this thread; {@code y} itself otherwise.
   *
   * @param x (..., in) the layer's input; y (..., out) its base output
   */
  public Tensor apply(String module, Tensor x, Tensor y) {
    if (!active(module)) {
      return y;
    }
    Tensor[] ab = byModule.get(module);
    Tensor down = torch.linear(dropout(module, x), ab[0]);                                   // (..., r)
    return y.add(torch.linear(down, ab[1]).mul(new Scalar(cfg.scaling())));                 // (..., out)
  }

  /**
   * {@code y} plus the LoRA term of the piece {@code part} of a PEFT module ({@link LoraPart}): the module's dropout
   * and A, and the piece's rows of B, so the pieces together add exactly the packed module's term.
   *
   * @param x (..., in) the layer's input; y (..., part rows) its base output
   */
  public Tensor apply(LoraPart part, Tensor x, Tensor y) {
    String module = part.module();
    if (!active(module)) {
      return y;
    }
    Tensor[] ab = byModule.get(module);
    // the pieces of one module run on the same input one after another (q, k, v): one dropout mask, one x A^T
    Down last = lastDown.get();
    Tensor down = last != null && last.module().equals(module) && last.x() == x && last.keys() == training.get()
        ? last.down() : torch.linear(dropout(module, x), ab[0]);                            // (..., r)
    lastDown.set(part.last() ? null : new Down(module, x, training.get(), down));
    return y.add(torch.linear(down, part.rows(ab[1])).mul(new Scalar(cfg.scaling())));     // (..., part rows)
  }

  /** The down projection of the piece just computed, for the module's next piece on the same input. */
  private record Down(String module, Tensor x, LoraDropout keys, Tensor down) {}

  /** x with this thread's training-pass dropout applied (x itself outside training passes or with p = 0). */
  private Tensor dropout(String module, Tensor x) {
    LoraDropout keys = training.get();
    if (keys == null || cfg.dropout() == 0) {
      return x;
    }
    return x.mul(keys.maskFor(module, x, cfg.dropout()));
  }

  /**
   * Starts a training pass in this thread until close: adapter inputs are dropped out by {@code keys} (PEFT's
   * lora_dropout in train mode). Generation, reference and evaluation passes run outside one.
   */
  public Off train(LoraDropout keys) {
    LoraDropout was = training.get();
    training.set(keys);
    return () -> training.set(was);
  }

  /** This thread's adapter state: the off switch and the training pass's dropout keys (null outside one). */
  public record Pass(boolean off, LoraDropout keys) {}

  /** This thread's current {@link Pass}, for a recompute (gradient checkpointing) to replay it. */
  public Pass pass() {
    return new Pass(off.get(), training.get());
  }

  /**
   * Puts this thread back in {@code p} until close, so a recompute draws the same dropout masks (they are keyed, not
   * drawn from a generator) and switches the same adapters on or off as the pass it replays.
   */
  public Off resume(Pass p) {
    boolean wasOff = off.get();
    LoraDropout was = training.get();
    off.set(p.off());
    training.set(p.keys());
    return () -> {
      off.set(wasOff);
      training.set(was);
    };
  }

  /** Whether inputs are dropped out in training passes (p > 0). */
  public boolean hasDropout() {
    return cfg.dropout() > 0;
  }

  /**
   * The LM head of a training pass with dropout, as a plain matrix product for the fused loss: logits =
   * [h, s drop(h) A^T] [W, B]^T = h W^T + s (drop(h) A^T) B^T.
   *
   * @param hidden (B, C, H) the head's input; keys its positions' dropout keys
   * @param w (V, H) the head's base weight
   * @return {hidden' (B, C, H + r), weight' (V, H + r)}
   */
  public Tensor[] headWithDropout(String module, Tensor hidden, Tensor w, LoraDropout keys) {
    Tensor[] ab = byModule.get(module);
    Tensor dropped = hidden.mul(keys.mask(module, hidden.size(2), cfg.dropout(), hidden.scalar_type().intern()));
    Tensor down = torch.linear(dropped, ab[0]).mul(new Scalar(cfg.scaling()));              // (B, C, r)
    return new Tensor[] {torch.cat(new org.bytedeco.pytorch.TensorVector(hidden, down), 2),
        torch.cat(new org.bytedeco.pytorch.TensorVector(w, ab[1].to(w.scalar_type())), 1)};
  }

  /**
   * The effective weight W + (alpha / r) B A (out, in) when the module's adapter is on, else {@code w}: for layers
   * whose weight is used as a matrix (the LM head in the fused loss and in generation).
   */
  public Tensor weight(String module, Tensor w) {
    if (!active(module)) {
      return w;
    }
    if (training.get() != null && cfg.dropout() > 0) {
      throw new IllegalStateException("the merged weight of " + module + " has no dropout: a training pass uses "
          + "headWithDropout");
    }
    Tensor[] ab = byModule.get(module);
    return w.add(torch.matmul(ab[1], ab[0]).mul(new Scalar(cfg.scaling())).to(w.scalar_type()));
  }

  /** What {@link #off} returns: closing it restores the thread's previous state. */
  public interface Off extends AutoCloseable {
    @Override
    void close();
  }

  /** Switches the adapters off in this thread until close (PEFT's disable_adapter: the reference pass). */
  public Off off() {
    boolean was = off.get();
    off.set(true);
    return () -> off.set(was);
  }

  /** A (r, in) of a module. */
  public Tensor a(String module) {
    return byModule.get(module)[0];
  }

  /** B (out, r) of a module. */
  public Tensor b(String module) {
    return byModule.get(module)[1];
  }

  /**
   * The adapter tensors under PEFT's state-dict names, {@code base_model.model.<module>.lora_A.weight} and
   * {@code .lora_B.weight}, then the modules_to_save copies as PEFT saves them, {@code base_model.model.<parameter>}
   * (get_peft_model_state_dict drops the wrapper's {@code modules_to_save.default}), in name order: what
   * adapter_model.safetensors holds and what trains.
   */
  public Map<String, Tensor> namedParameters() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    byModule.forEach((m, ab) -> {
      out.put(PEFT_PREFIX + m + ".lora_A.weight", ab[0]);
      out.put(PEFT_PREFIX + m + ".lora_B.weight", ab[1]);
    });
    saved.forEach((k, t) -> out.put(PEFT_PREFIX + k, t));
    return Collections.unmodifiableMap(out);
  }

  /** Converts every adapter tensor and trained copy to {@code dtype}. */
  public void castTo(ScalarType dtype) {
    for (Tensor[] ab : byModule.values()) {
      for (int i = 0; i < 2; i++) {
        if (ab[i].scalar_type().intern() != dtype) {
          Tensor old = ab[i];
          ab[i] = old.to(dtype);
          ab[i].retainReference();
          old.releaseReference();
        }
      }
    }
    saved.replaceAll((k, t) -> {
      if (!t.is_floating_point() || t.scalar_type().intern() == dtype) {
        return t;
      }
      Tensor cast = t.to(dtype);
      cast.retainReference();
      t.releaseReference();
      return cast;
    });
  }

  /** Moves every adapter tensor and trained copy onto {@code device} (--device), keeping whether it requires grad. */
  public void moveTo(org.bytedeco.pytorch.Device device) {
    saved.replaceAll((k, t) -> {
      Tensor moved = Devices.moved(t, device);
      if (moved != t) {
        moved.retainReference();
        t.releaseReference();
      }
      return moved;
    });
    for (Tensor[] ab : byModule.values()) {
      for (int i = 0; i < 2; i++) {
        Tensor moved = Devices.moved(ab[i], device);
        if (moved != ab[i]) {
          Tensor old = ab[i];
          ab[i] = moved;
          ab[i].retainReference();
          old.releaseReference();
        }
      }
    }
  }

  @Override
  public void close() {
    List<Tensor> all = new ArrayList<>();
    byModule.values().forEach(ab -> all.addAll(List.of(ab)));
    all.addAll(saved.values());
    all.forEach(Tensor::releaseReference);
    byModule.clear();
    saved.clear();
  }
}
