// Saves weights in the Hugging Face layout (config files copied, safetensors sharded above 5 GB with
// model.safetensors.index.json), so transformers and vLLM load what vlmr1 trains.
package org.vlmr1.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.bytedeco.pytorch.Tensor;

/** Writes checkpoints. */
public final class Checkpoints {
  /** transformers' default max_shard_size. */
  public static final long SHARD_BYTES = 5_000_000_000L;
  /** Files copied from the source checkpoint when present. */
  static final List<String> SIDE_FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
      "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "preprocessor_config.json",
      "chat_template.json", "added_tokens.json", "LICENSE.tokenizer");

  private Checkpoints() {}

  /**
   * Writes {@code tensors} (name-sorted) into {@code out} as model.safetensors, or as shards of at most
   * {@code shardBytes} with an index, and copies the side files of {@code source}.
   */
  public static void save(Map<String, Tensor> tensors, Path source, Path out, long shardBytes) throws IOException {
    Files.createDirectories(out);
    for (String f : SIDE_FILES) {
      Path src = source.resolve(f);
      if (Files.isRegularFile(src) && !src.toAbsolutePath().normalize().equals(out.resolve(f).toAbsolutePath()
          .normalize())) {
        Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    List<Map<String, Tensor>> shards = new ArrayList<>();
    Map<String, Tensor> cur = new LinkedHashMap<>();
    long size = 0;
    long total = 0;
    for (Map.Entry<String, Tensor> e : new TreeMap<>(tensors).entrySet()) {
      long n = e.getValue().nbytes();
      if (!cur.isEmpty() && size + n > shardBytes) {
        shards.add(cur);
        cur = new LinkedHashMap<>();
        size = 0;
      }
      cur.put(e.getKey(), e.getValue());
      size += n;
      total += n;
    }
    shards.add(cur);
    if (shards.size() == 1) {
      SafeTensorsWriter.write(out.resolve("model.safetensors"), shards.get(0));
      Files.deleteIfExists(out.resolve("model.safetensors.index.json"));
      return;
    }
    Map<String, String> weightMap = new TreeMap<>();
    for (int i = 0; i < shards.size(); i++) {
      String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      SafeTensorsWriter.write(out.resolve(name), shards.get(i));
      for (String k : shards.get(i).keySet()) {
        weightMap.put(k, name);
      }
    }
    writeIndex(out, total, weightMap);
  }

  /**
   * Writes the planned tensors as {@link #save} shards them (name order, at most {@code shardBytes} a shard, an index
   * above one shard), making each with {@code make} only when its turn comes: memory holds one tensor, not the model.
   */
  public static void saveStreaming(List<SafeTensorsWriter.Planned> planned, Function<SafeTensorsWriter.Planned,
      Tensor> make, Path out, long shardBytes) throws IOException {
    Files.createDirectories(out);
    List<SafeTensorsWriter.Planned> sorted = new ArrayList<>(planned);
    sorted.sort(Comparator.comparing(SafeTensorsWriter.Planned::name));
    List<List<SafeTensorsWriter.Planned>> shards = new ArrayList<>();
    List<SafeTensorsWriter.Planned> cur = new ArrayList<>();
    long size = 0;
    long total = 0;
    for (SafeTensorsWriter.Planned p : sorted) {
      if (!cur.isEmpty() && size + p.nbytes() > shardBytes) {
        shards.add(cur);
        cur = new ArrayList<>();
        size = 0;
      }
      cur.add(p);
      size += p.nbytes();
      total += p.nbytes();
    }
    shards.add(cur);
    if (shards.size() == 1) {
      SafeTensorsWriter.writeStreaming(out.resolve("model.safetensors"), shards.get(0), make);
      Files.deleteIfExists(out.resolve("model.safetensors.index.json"));
      return;
    }
    Map<String, String> weightMap = new TreeMap<>();
    for (int i = 0; i < shards.size(); i++) {
      String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      SafeTensorsWriter.writeStreaming(out.resolve(name), shards.get(i), make);
      for (SafeTensorsWriter.Planned p : shards.get(i)) {
        weightMap.put(p.name(), name);
      }
    }
    writeIndex(out, total, weightMap);
  }

  private static void writeIndex(Path out, long total, Map<String, String> weightMap) throws IOException {
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("metadata", Map.of("total_size", total));
    index.put("weight_map", weightMap);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(
        out.resolve("model.safetensors.index.json").toFile(), index);
    Files.deleteIfExists(out.resolve("model.safetensors"));
  }
}
