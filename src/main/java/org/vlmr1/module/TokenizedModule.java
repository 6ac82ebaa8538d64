// What every family's module does the same way: the contract's constant answers (FamilyFacts), its Hugging Face
// tokenizer and special ids (find the tokenizer, encode, decode completions, the EOS text, the EOS and pad ids) and
// the family's module rewards; a family extends it and writes only what differs.
package org.vlmr1.module;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.vlmr1.reward.RewardFunction;

/** Base of the families' modules. */
public abstract class TokenizedModule implements VlmModule {
  private final HfTokenizer tokenizer; // null when the checkpoint has none and none was given
  private final long[] eos;
  private final long pad;
  private final FamilyProvider.RewardSelector rewards;
  private final FamilyFacts facts;

  protected TokenizedModule(FamilyFacts facts, HfTokenizer tokenizer, long[] eos, long pad,
      FamilyProvider.RewardSelector rewards) {
    this.facts = facts;
    this.tokenizer = tokenizer;
    this.eos = eos.clone();
    this.pad = pad;
    this.rewards = rewards;
  }

  /** {@code --tokenizer} when given (an error if it is missing), else the checkpoint's tokenizer.json, else null. */
  protected static HfTokenizer tokenizerFor(Path checkpoint, ModuleOptions o) throws IOException {
    Path path = o.tokenizer() != null ? o.tokenizer() : checkpoint.resolve("tokenizer.json");
    HfTokenizer tok = Files.exists(path) ? HfTokenizer.load(path) : null;
    if (o.tokenizer() != null && tok == null) {
      throw new IOException("no tokenizer at " + o.tokenizer());
    }
    return tok;
  }

  /** The tokenizer, or an error saying how to give one (a checkpoint without tokenizer files runs on ids only). */
  protected HfTokenizer tokenizer() {
    if (tokenizer == null) {
      throw new IllegalStateException("tokenising prompts needs a tokenizer.json: the checkpoint has none; give "
          + "--tokenizer");
    }
    return tokenizer;
  }

  /** One example's chat-template text, generation prompt included. */
  protected abstract String renderPrompt(Conversation example);

  @Override
  public List<String> preparePrompt(List<Conversation> examples) {
    return examples.stream().map(this::renderPrompt).toList();
  }

  @Override
  public String vlmKey() {
    return facts.vlmKey();
  }

  @Override
  public Class<? extends org.vlmr1.model.VlmModel> modelClass() {
    return facts.modelClass();
  }

  @Override
  public List<String> visionModulesKeywords() {
    return facts.visionModulesKeywords();
  }

  @Override
  public List<String> customMultimodalKeywords() {
    return facts.customMultimodalKeywords();
  }

  @Override
  public List<String> nonGenerateParams() {
    return facts.nonGenerateParams();
  }

  @Override
  public List<ProcessingKeyword> customProcessingKeywords() {
    return facts.processingKeywords();
  }

  @Override
  public boolean isEmbedsInput() {
    return facts.embedsInput();
  }

  @Override
  public long[] encode(String text) {
    return Batches.encode(tokenizer, text);
  }

  @Override
  public String eosText() {
    return Batches.tokenText(tokenizer, eos[0]);
  }

  @Override
  public List<String> decodeCompletions(long[][] completionIds, long[][] mask) {
    return Batches.decodeCompletions(tokenizer, completionIds, mask);
  }

  @Override
  public long[] eosTokenIds() {
    return eos.clone();
  }

  @Override
  public long padTokenId() {
    return pad;
  }

  @Override
  public RewardFunction selectRewardFunction(String func, String taskType) {
    return rewards.select(func, taskType);
  }
}
