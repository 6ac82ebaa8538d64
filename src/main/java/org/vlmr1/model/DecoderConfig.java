// The text decoder's shape, shared by every family whose language model is Qwen2-shaped (Qwen2-VL, Qwen2.5-VL and
// the Qwen2 / InternLM2 LLMs inside InternVL): GQA attention, RMSNorm, SwiGLU, rotary positions.
package org.vlmr1.model;

/**
 * The decoder's hyper-parameters, validated at construction.
 *
 * @param qkvBias whether q/k/v projections carry biases (Qwen2: yes; InternLM2: no)
 * @param ropeScalingFactor dynamic-NTK factor (rope_scaling type "dynamic"), or 0 for plain RoPE
 * @param maxPositionEmbeddings where dynamic NTK starts rescaling (only read when the factor is set)
 */
public record DecoderConfig(long vocabSize, long hiddenSize, long intermediateSize, int numLayers, int numHeads,
    int numKvHeads, double rmsNormEps, double ropeTheta, boolean tieWordEmbeddings, boolean qkvBias,
    double ropeScalingFactor, long maxPositionEmbeddings) {
  public DecoderConfig {
    if (vocabSize < 1 || hiddenSize < 1 || intermediateSize < 1 || numLayers < 1 || numHeads < 1 || numKvHeads < 1) {
      throw new IllegalArgumentException("decoder sizes must be positive: vocab " + vocabSize + ", hidden "
          + hiddenSize + ", intermediate " + intermediateSize + ", layers " + numLayers + ", heads " + numHeads
          + ", kv heads " + numKvHeads);
    }
    if (hiddenSize % numHeads != 0 || numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException("hidden_size " + hiddenSize + " / heads " + numHeads + " / kv heads "
          + numKvHeads + " do not divide");
    }
    if ((hiddenSize / numHeads) % 2 != 0) {
      throw new IllegalArgumentException("head_dim " + hiddenSize / numHeads + " must be even for rotary positions");
    }
  }

  public long headDim() {
    return hiddenSize / numHeads;
  }
}
