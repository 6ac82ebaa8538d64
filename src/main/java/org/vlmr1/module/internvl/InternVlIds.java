// The special token ids an InternVL module needs, in CONVENTIONS.md's order: explicit flag, then the tokenizer, then
// config.json (llm_config.*, img_context_token_id).
package org.vlmr1.module.internvl;

import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;
import org.vlmr1.module.HfTokenizer;
import org.vlmr1.module.ModuleOptions;

/**
 * @param imgContext {@code <IMG_CONTEXT>}, or -1 when unknown (then prompts with images cannot be built)
 * @param imgStart {@code <img>}, or -1 without a tokenizer
 * @param imgEnd {@code </img>}, or -1 without a tokenizer
 * @param eos the template's stop token and llm_config.eos_token_id (when different)
 * @param pad the padding id
 */
public record InternVlIds(long imgContext, long imgStart, long imgEnd, long[] eos, long pad) {

  static InternVlIds resolve(InternVlConfig cfg, InternVlTemplate template, HfTokenizer tok, ModuleOptions o)
      throws IOException {
    Long ctx = o.imgContextTokenId() != null ? o.imgContextTokenId() : HfTokenizer.singleId(tok, "<IMG_CONTEXT>");
    if (ctx == null && cfg.imgContextTokenId() >= 0) {
      ctx = cfg.imgContextTokenId();
    }
    Set<Long> eos = new LinkedHashSet<>();
    if (o.eosTokenId() != null) {
      eos.add(o.eosTokenId());
    } else {
      Long sep = HfTokenizer.singleId(tok, template.eosToken());
      if (sep != null) {
        eos.add(sep);
      }
      if (cfg.eosTokenId() >= 0) {
        eos.add(cfg.eosTokenId());
      }
    }
    if (eos.isEmpty()) {
      throw new IOException("no EOS id: give --eos_token_id, a tokenizer with " + template.eosToken()
          + ", or llm_config.eos_token_id in config.json");
    }
    Long pad = o.padTokenId() != null ? o.padTokenId() : HfTokenizer.singleId(tok, "<|endoftext|>");
    if (pad == null && cfg.padTokenId() >= 0) {
      pad = cfg.padTokenId();
    }
    if (pad == null && cfg.bosTokenId() >= 0) {
      pad = cfg.bosTokenId();
    }
    if (pad == null) {
      throw new IOException("no pad id: give --pad_token_id (or a bos_token_id in llm_config)");
    }
    Long start = HfTokenizer.singleId(tok, "<img>");
    Long end = HfTokenizer.singleId(tok, "</img>");
    return new InternVlIds(ctx == null ? -1 : ctx, start == null ? -1 : start, end == null ? -1 : end,
        eos.stream().mapToLong(Long::longValue).toArray(), pad);
  }
}
