// Model weights loaded from Hugging Face safetensors (one file, or shards listed in model.safetensors.index.json)
// into libtorch tensors, with key normalisation for the transformers >= 4.52 naming and clear errors.
package org.vlmr1.model;

import org.vlmr1.kernels.Devices;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.util.Json;
import org.vlmr1.util.JsonConfig;

/**
 * Named tensors of a checkpoint. Long-lived: every tensor holds a reference of its own, so loading inside a
 * PointerScope does not tie the weights to that scope; close() frees them.
 */
public final class Weights implements AutoCloseable {
  private final Map<String, Tensor> tensors;
  private final Path source;
  private final Set<String> touched = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile LoraAdapters lora; // null without --use_peft; closed with the weights
  private volatile Map<String, LoraPart> loraParts = Map.of(); // internal module -> its PEFT module piece

  private Weights(Map<String, Tensor> tensors, Path source) {
    this.tensors = tensors;
    this.source = source;
  }

  /**
   * Loads every tensor of a checkpoint folder, renaming keys with {@code rename} (e.g. {@code model.visual.} ->
   * {@code visual.}).
   */
  public static Weights load(Path checkpoint, UnaryOperator<String> rename) throws IOException {
    TorchRuntime.load();
    Set<Path> files = new LinkedHashSet<>();
    Path index = checkpoint.resolve("model.safetensors.index.json");
    if (Files.isRegularFile(index)) {
      JsonNode map = JsonConfig.readTree(index).path("weight_map");
      if (!map.isObject() || map.isEmpty()) {
        throw new IOException(index + ": weight_map must be a non-empty object of tensor name -> shard file");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
        files.add(shard(checkpoint, index, it.next()));
      }
    } else if (Files.isRegularFile(checkpoint.resolve("model.safetensors"))) {
      files.add(checkpoint.resolve("model.safetensors"));
    } else {
      throw new IOException("no model.safetensors or model.safetensors.index.json in " + checkpoint);
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Path f : files) {
      if (!Files.isRegularFile(f)) {
        throw new IOException("shard " + f + " listed in the index is missing");
      }
      SafeTensorsFile st = SafeTensorsFile.open(f);
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        for (SafeTensorsFile.Entry e : st.entries().values()) {
          String name = rename.apply(e.name());
          if (out.containsKey(name)) {
            throw new IOException(f + ": tensor " + name + " appears twice");
          }
          Tensor t = tensor(st, ch, e);
          t.retainReference();
          out.put(name, t);
        }
      }
    }
    return new Weights(out, checkpoint);
  }

  /**
   * The shard file of one weight_map entry: a plain file name in the checkpoint folder, as transformers writes them.
   * An absolute path, "..", or a sub-folder is refused: an index must not make a load read files outside its folder.
   */
  private static Path shard(Path checkpoint, Path index, Map.Entry<String, JsonNode> e) throws IOException {
    JsonNode v = e.getValue();
    String name = v.isTextual() ? v.asText() : "";
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")
        || name.indexOf('\0') >= 0) {
      throw new IOException(index + ": weight_map maps " + e.getKey() + " to " + Json.shortened(v) + ", not a shard file name in "
          + "the checkpoint folder");
    }
    return checkpoint.resolve(name);
  }

  /** One tensor of a safetensors file as a new libtorch tensor (owned by the caller's scope, if any). */
  public static Tensor tensor(SafeTensorsFile st, String name) throws IOException {
    try (FileChannel ch = FileChannel.open(st.path(), StandardOpenOption.READ)) {
      return tensor(st, ch, st.entry(name));
    }
  }

  /**
   * torch.empty of the entry's dtype and shape, filled from the file in chunks straight into its native memory (no
   * heap copy, no int size: JAVACPP-NOTES section 3's second reader without the extra clone).
   */
  private static Tensor tensor(SafeTensorsFile st, FileChannel ch, SafeTensorsFile.Entry e) throws IOException {
    TorchRuntime.load();
    Tensor t = torch.empty(e.shape(), new TensorOptions(scalarType(e.dtype(), st.path(), e.name())), null);
    if (e.end() > e.begin()) {
      st.readInto(ch, e, t.data_ptr());
    }
    return t;
  }

  static ScalarType scalarType(String dtype, Path file, String name) throws IOException {
    switch (dtype) {
      case "F32": return ScalarType.Float;
      case "BF16": return ScalarType.BFloat16;
      case "F16": return ScalarType.Half;
      case "I64": return ScalarType.Long;
      case "I32": return ScalarType.Int;
      case "U8": return ScalarType.Byte;
      case "BOOL": return ScalarType.Bool;
      case "F64": return ScalarType.Double;
      default: throw new IOException(file + ": tensor " + name + " has unsupported dtype " + dtype);
    }
  }

  /**
   * Fails on tensors that no shape-checked {@link #get} has declared: a checkpoint of another architecture or size
   * variant, or a key convention this loader does not know, is an error naming the keys rather than weights silently
   * ignored.
   */
  public void rejectUnexpected() {
    java.util.List<String> extra = new java.util.ArrayList<>();
    for (String k : tensors.keySet()) {
      if (!touched.contains(k) && !k.endsWith(".inv_freq")) { // rotary buffers old transformers saved
        extra.add(k);
      }
    }
    if (!extra.isEmpty()) {
      java.util.Collections.sort(extra);
      throw new IllegalArgumentException(source + ": " + extra.size() + " unexpected weight(s) "
          + (extra.size() > 8 ? extra.subList(0, 8) + " ..." : extra.toString()));
    }
  }

  /** Adds or replaces tensors and removes others (key conventions that need tensor surgery, e.g. packed qkv). */
  public void replace(Map<String, Tensor> add, java.util.Collection<String> remove) {
    // Retain the additions first: an addition may be a tensor that is also being removed under its old name.
    add.values().forEach(Tensor::retainReference);
    for (String k : remove) {
      Tensor t = tensors.remove(k);
      if (t != null) {
        t.releaseReference();
      }
    }
    for (Map.Entry<String, Tensor> e : add.entrySet()) {
      Tensor old = tensors.put(e.getKey(), e.getValue());
      if (old != null) {
        old.releaseReference();
      }
    }
  }

  public boolean has(String name) {
    return tensors.containsKey(name);
  }

  /**
   * The tensor, checked against the expected shape: the attached adapters' trained copy of it while they are on in
   * this thread (LoRA's modules_to_save), else the checkpoint's.
   */
  public Tensor get(String name, long... shape) {
    LoraAdapters a = lora;
    Tensor copy = a == null ? null : a.saved(name);
    Tensor t = base(name, shape); // the checks and the declared key (a copy has its base's shape: attachLora)
    return copy != null ? copy : t;
  }

  /** The checkpoint's tensor, never a trained copy (merging, and a tied head whose embedding alone is copied). */
  public Tensor base(String name, long... shape) {
    Tensor t = tensors.get(name);
    if (shape.length > 0) {
      touched.add(name); // a shape-checked get declares the key expected (load time, not every forward)
    }
    if (t == null) {
      throw new IllegalArgumentException(source + ": missing weight " + name);
    }
    if (shape.length > 0 && !java.util.Arrays.equals(org.vlmr1.kernels.TensorChecks.shape(t), shape)) {
      throw new IllegalArgumentException(source + ": weight " + name + " has shape "
          + java.util.Arrays.toString(org.vlmr1.kernels.TensorChecks.shape(t)) + ", expected "
          + java.util.Arrays.toString(shape));
    }
    return t;
  }

  /** Attaches LoRA adapters, which the weights then own (closed with them); null detaches. */
  public void attachLora(LoraAdapters adapters) {
    attachLora(adapters, Map.of());
  }

  /**
   * Attaches LoRA adapters keyed by PEFT module names, with the internal modules that compute a PEFT module in pieces
   * or under another name (InternLM2: q_proj is part of attention.wqkv); null detaches.
   *
   * @param parts internal module path -> its part of a PEFT module; modules not in it are their own PEFT module
   */
  public void attachLora(LoraAdapters adapters, Map<String, LoraPart> parts) {
    this.loraParts = Map.copyOf(parts);
    this.lora = adapters;
  }

  /** The attached LoRA adapters, or null. */
  public LoraAdapters lora() {
    return lora;
  }

  /**
   * x W^T + b of the linear module {@code module} (its path in transformers' layout, e.g.
   * {@code model.layers.0.self_attn.q_proj}), plus its LoRA term when an attached adapter targets it and is on.
   */
  public Tensor linear(Tensor x, String module, Tensor weight, Tensor bias) {
    return addLora(x, module, Layers.linear(x, weight, bias));
  }

  /**
   * {@code y}, the base output of the linear module {@code module} on {@code x}, plus its LoRA term when it has one:
   * its own adapter, or its rows of a packed PEFT module's ({@link LoraPart}). For callers that compute the base
   * projection themselves (the fused decode kernels).
   */
  public Tensor addLora(Tensor x, String module, Tensor y) {
    LoraAdapters a = lora;
    if (a == null) {
      return y;
    }
    LoraPart part = loraParts.get(module);
    return part == null ? a.apply(module, x, y) : a.apply(part, x, y);
  }

  /** Whether {@link #addLora} adds a term for {@code module} in this thread (directly or as a packed piece). */
  public boolean loraActive(String module) {
    LoraAdapters a = lora;
    if (a == null) {
      return false;
    }
    LoraPart part = loraParts.get(module);
    return a.active(part == null ? module : part.module());
  }

  /**
   * The linear modules (path -> (out, in)): the 2-D {@code .weight} tensors other than token embeddings (the
   * families' convolutions are 4-D or 5-D, norms and biases 1-D), plus {@code extra} ones the checkpoint does not
   * hold (a tied LM head is a module of its own in transformers).
   */
  public Map<String, long[]> linearModules(Map<String, long[]> extra) {
    Map<String, long[]> out = new java.util.TreeMap<>(extra);
    tensors.forEach((k, t) -> {
      if (k.endsWith(".weight") && t.dim() == 2 && !k.contains("embed_tokens")) {
        out.put(k.substring(0, k.length() - ".weight".length()), new long[] {t.size(0), t.size(1)});
      }
    });
    return out;
  }

  /** The checkpoint folder these weights came from. */
  public Path source() {
    return source;
  }

  /** Name -> tensor, read-only (for saving). */
  public Map<String, Tensor> asMap() {
    return java.util.Collections.unmodifiableMap(tensors);
  }

  public Set<String> names() {
    return tensors.keySet();
  }

  /** Converts every floating tensor to {@code dtype} (e.g. bf16 for training). */
  public void castFloating(ScalarType dtype) {
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ScalarType st = e.getValue().scalar_type().intern();
      if (st != dtype && (st == ScalarType.Float || st == ScalarType.BFloat16 || st == ScalarType.Half)) {
        Tensor old = e.getValue();
        Tensor cast = old.to(dtype);
        cast.retainReference();
        e.setValue(cast);
        old.releaseReference();
      }
    }
  }

  /**
   * Moves every tensor, and the attached LoRA adapters, onto {@code device} (--device; a tensor already there stays
   * the same tensor, so a CPU run is unchanged). Loading reads the file into host memory first (the safetensors
   * reader fills a host buffer), so a CUDA model is loaded, then moved once, before any training or generation.
   */
  public void moveTo(org.bytedeco.pytorch.Device device) {
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor moved = Devices.moved(e.getValue(), device);
      if (moved != e.getValue()) {
        Tensor old = e.getValue();
        moved.retainReference();
        e.setValue(moved);
        old.releaseReference();
      }
    }
    if (lora != null) {
      lora.moveTo(device);
    }
  }

  @Override
  public void close() {
    if (lora != null) {
      lora.close();
      lora = null;
    }
    tensors.values().forEach(Tensor::releaseReference);
    tensors.clear();
  }
}
