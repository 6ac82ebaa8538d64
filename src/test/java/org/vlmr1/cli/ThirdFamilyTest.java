// A third model family (org.vlmr1.toyfamily, in the test sources: a toy vision encoder + the shared decoder,
// registered through ServiceLoader, with its own processing keyword) is found by the registry, listed by train --help
// and trained a few steps by the unchanged trainer and CLI; its keyword reaches its processor and other families'
// keywords are refused (issue 13).
package org.vlmr1.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.model.SafeTensorsWriter;
import org.vlmr1.module.ModuleOptions;
import org.vlmr1.module.VlmModule;
import org.vlmr1.module.VlmModules;
import org.vlmr1.module.qwen.QwenTiny;

class ThirdFamilyTest {
  /** A random toy_vl checkpoint: hidden 32, one layer, Qwen's vocabulary and tokenizer files. */
  static void writeToy(Path out, long seed) throws Exception {
    TorchRuntime.load();
    Path qwen = out.resolveSibling(out.getFileName() + "-tokenizer-source");
    QwenTiny.write(new QwenTiny.Spec(32, 1, 4, 2, 64, 1, 32, 2, 0), qwen);
    Files.createDirectories(out);
    for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
      Files.copy(qwen.resolve(f), out.resolve(f));
    }
    long v = 151936;
    long h = 32;
    long inter = 64;
    long kv = 2 * (h / 4);
    Files.writeString(out.resolve("config.json"), "{\"model_type\": \"toy_vl\", \"vocab_size\": " + v
        + ", \"hidden_size\": " + h + ", \"intermediate_size\": " + inter + ", \"num_hidden_layers\": 1, "
        + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"image_token_id\": 151655}");
    torch.manual_seed(seed);
    Map<String, Tensor> t = new LinkedHashMap<>();
    try (PointerScope s = new PointerScope()) {
      t.put("model.embed_tokens.weight", torch.randn(v, h).mul(new org.bytedeco.pytorch.Scalar(0.02)));
      t.put("model.norm.weight", torch.ones(h));
      String p = "model.layers.0.";
      t.put(p + "self_attn.q_proj.weight", torch.randn(h, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "self_attn.k_proj.weight", torch.randn(kv, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "self_attn.v_proj.weight", torch.randn(kv, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "self_attn.o_proj.weight", torch.randn(h, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "mlp.gate_proj.weight", torch.randn(inter, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "mlp.up_proj.weight", torch.randn(inter, h).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "mlp.down_proj.weight", torch.randn(h, inter).mul(new org.bytedeco.pytorch.Scalar(0.1)));
      t.put(p + "input_layernorm.weight", torch.ones(h));
      t.put(p + "post_attention_layernorm.weight", torch.ones(h));
      t.put("vision.proj.weight", torch.randn(h, 3 * 8 * 8).mul(new org.bytedeco.pytorch.Scalar(0.05)));
      SafeTensorsWriter.write(out.resolve("model.safetensors"), t);
    }
  }

  @Test
  void aThirdFamilyTrainsThroughTheUnchangedCli(@TempDir Path dir) throws Exception {
    Path toy = dir.resolve("toy");
    long seed = new Random().nextLong();
    System.out.println("seed " + seed);
    writeToy(toy, seed);
    VlmModule m = VlmModules.forCheckpoint(toy, null, ModuleOptions.DEFAULTS.withProcessing("toy_image_side", 24));
    assertEquals("toy", m.vlmKey());
    assertEquals(1, VlmModules.processingKeywords().get("toy").size());
    ScoreCommandTest.Run help = ScoreCommandTest.run("train", "--help");
    assertTrue(help.out().contains("--toy_image_side") && help.out().contains("toy: the side"), help.out());
    Path data = dir.resolve("data");
    assertEquals(0, ScoreCommandTest.run("make-synthetic", "--out", data.toString(), "--n", "4", "--width", "56",
        "--height", "56").rc());
    Path out = dir.resolve("run");
    ScoreCommandTest.Run r = ScoreCommandTest.run("train", "--model_name_or_path", toy.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--reward_funcs", "format", "length", "--num_generations", "2", "--per_device_train_batch_size", "4",
        "--max_completion_length", "4", "--max_steps", "2", "--learning_rate", "1e-2", "--save_steps", "2",
        "--toy_image_side", "16", "--output_dir", out.toString());
    assertEquals(0, r.rc(), r.err());
    assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    assertTrue(Files.isRegularFile(out.resolve("checkpoint-2/model.safetensors")));
    // prepare and forward through the contract: the family's tensors in, its named outputs out.
    Path image;
    try (java.util.stream.Stream<Path> s = Files.walk(data)) {
      image = s.filter(p -> p.toString().endsWith(".png")).findFirst().orElseThrow();
    }
    ScoreCommandTest.Run prep = ScoreCommandTest.run("prepare", "--model", toy.toString(), "--image",
        image.toString(), "--text", "the red circle", "--out", dir.resolve("in.safetensors").toString());
    assertEquals(0, prep.rc(), prep.err());
    ScoreCommandTest.Run fwd = ScoreCommandTest.run("forward", "--model", toy.toString(), "--inputs",
        dir.resolve("in.safetensors").toString(), "--out", dir.resolve("fwd.safetensors").toString());
    assertEquals(0, fwd.rc(), fwd.err());
    assertEquals(151936, org.vlmr1.model.SafeTensorsFile.open(dir.resolve("fwd.safetensors")).entry("logits")
        .shape()[2]);
    ScoreCommandTest.Run qwenKeyword = ScoreCommandTest.run("train", "--model_name_or_path", toy.toString(),
        "--data_file_paths", data.resolve("data.jsonl").toString(), "--image_folders", data.toString(),
        "--max_steps", "1", "--max_pixels", "12544", "--output_dir", dir.resolve("run2").toString());
    assertEquals(2, qwenKeyword.rc(), qwenKeyword.err());
    assertTrue(qwenKeyword.err().contains("--max_pixels is not a processing keyword of the toy family (its keywords: "
        + "toy_image_side)"), qwenKeyword.err());
  }
}
