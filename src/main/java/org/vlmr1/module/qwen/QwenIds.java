// The special token ids a Qwen2(.5)-VL module needs, resolved in CONVENTIONS.md's order: explicit flag, then the
// tokenizer, then generation_config.json, then config.json.
package org.vlmr1.module.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.util.JsonConfig;

/**
 * @param imagePad {@code <|image_pad|>}
 * @param eos every id that ends a completion ({@code <|im_end|>}, and generation_config's list when it has several)
 * @param pad the padding id ({@code <|endoftext|>}; falls back to BOS)
 */
public record QwenIds(long imagePad, long[] eos, long pad) {

  static QwenIds resolve(Path checkpoint, HfTokenizer tok, ModuleOptions o) throws IOException {
    JsonNode config = read(checkpoint.resolve("config.json"));
    JsonNode gen = read(checkpoint.resolve("generation_config.json"));
    Long image = o.imageTokenId() != null ? o.imageTokenId()
        : HfTokenizer.singleId(tok, "<|image_pad|>");
    if (image == null) {
      image = num(config, "image_token_id");
    }
    if (image == null) {
      throw new IOException("no <|image_pad|> id: give --image_token_id, a tokenizer, or image_token_id in config.json");
    }
    Set<Long> eos = new LinkedHashSet<>();
    if (o.eosTokenId() != null) {
      eos.add(o.eosTokenId());
    } else {
      Long fromTok = HfTokenizer.singleId(tok, "<|im_end|>");
      if (fromTok != null) {
        eos.add(fromTok);
      }
      addAll(eos, gen.path("eos_token_id"));
      if (eos.isEmpty()) {
        addAll(eos, config.path("eos_token_id"));
      }
    }
    if (eos.isEmpty()) {
      throw new IOException("no EOS id: give --eos_token_id, a tokenizer, or eos_token_id in generation_config.json or "
          + "config.json");
    }
    Long pad = o.padTokenId() != null ? o.padTokenId() : HfTokenizer.singleId(tok, "<|endoftext|>");
    if (pad == null) {
      pad = num(gen, "pad_token_id");
    }
    if (pad == null) {
      pad = num(config, "pad_token_id");
    }
    if (pad == null) {
      pad = num(gen, "bos_token_id");
    }
    if (pad == null) {
      pad = num(config, "bos_token_id");
    }
    if (pad == null) {
      throw new IOException("no pad id: give --pad_token_id (or a bos_token_id in config.json)");
    }
    return new QwenIds(image, eos.stream().mapToLong(Long::longValue).toArray(), pad);
  }

  private static JsonNode read(Path p) throws IOException {
    return Files.isRegularFile(p) ? JsonConfig.readTree(p) : new ObjectMapper().createObjectNode();
  }

  private static Long num(JsonNode n, String key) {
    JsonNode v = n.path(key);
    return v.isIntegralNumber() ? v.asLong() : null;
  }

  private static void addAll(Set<Long> out, JsonNode v) {
    if (v.isIntegralNumber()) {
      out.add(v.asLong());
    } else if (v.isArray()) {
      v.forEach(x -> out.add(x.asLong()));
    }
  }
}
