// bin/vlmr1 bench scale end to end on issue 16's CI checkpoint (init-tiny --like qwen2_5_vl_3b, 2 layers, 1 vision
// block: 3B-wide, ~1 GB of bf16 shards): the same path as the hand-run 36-layer report, with one GRPO step instead of
// two (--iterations 1: one 3B-wide step takes 35-55 s on 2 cores). Timings and memory are
// reported, not asserted against targets; the test checks that the run is the one the issue describes (LoRA r 64 on
// VLM-R1's targets, bf16 adapters, a finite step with a reference pass, 448x448 prompt) and that the measured peak
// holds at least the weights.
package org.vlmr1.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.cli.MainAccess;

class ScaleSuiteTest {

  @Test
  @Tag("slow")
  void benchScaleRunsALoraStepOnTheThreeBWideTwoLayerCheckpoint(@TempDir Path tmp) throws Exception {
    long seed = new Random().nextInt(1 << 30);
    System.out.println("ScaleSuiteTest seed " + seed);
    Path model = tmp.resolve("q3b-2layer");
    assertEquals(0, MainAccess.run("init-tiny", "--like", "qwen2_5_vl_3b", "--out", model.toString(),
        "--num_layers", "2", "--vision_depth", "1", "--seed", String.valueOf(seed)));
    String previousHome = System.getProperty("vlmr1.home");
    PrintStream previousOut = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int rc;
    System.setProperty("vlmr1.home", tmp.toString());
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      rc = MainAccess.run("bench", "scale", "--model", model.toString(), "--iterations", "1");
    } finally {
      System.setOut(previousOut);
      if (previousHome == null) {
        System.clearProperty("vlmr1.home");
      } else {
        System.setProperty("vlmr1.home", previousHome);
      }
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    System.out.println(out);
    assertEquals(0, rc, out);

    List<String> csv = Files.readAllLines(tmp.resolve("target/bench/scale.csv"));
    assertEquals("op,impl,shape,dtype,ms_median,peak_extra_bytes,throughput,unit", csv.get(0));
    assertEquals(2, csv.size(), "one row: " + csv);
    String[] row = csv.get(1).split(",", -1);
    assertEquals(List.of("grpoStep", "lora-r64-ckpt", "bf16"), List.of(row[0], row[1], row[3]));
    assertTrue(row[2].startsWith("N=4 G=4 completion=32 image=448x448 model=q3b-2layer"), row[2]);
    assertTrue(Double.parseDouble(row[4]) > 0, "a measured step time");

    Map<String, String> x = extras(out);
    // VLM-R1's targets on a Qwen2.5-VL decoder: q, k, v, o, gate, up, down of every layer, and lm_head (tied to the
    // embedding, but a module of its own); nothing of the vision tower. r x (in + out) each.
    long h = 2048;
    long kv = 256;
    long mlp = 11008;
    long perLayer = (h + h) + 2 * (h + kv) + (h + h) + 2 * (h + mlp) + (mlp + h);
    assertEquals(String.valueOf(2 * 7 + 1), x.get("lora_modules"), x.toString());
    assertEquals(String.valueOf(64 * (2 * perLayer + (h + 151_936))), x.get("trainable_params"), x.toString());
    assertEquals("BFloat16", x.get("adapter_dtype"), "bf16 compute; the float32 masters are AdamW's");
    assertEquals("2", x.get("layers"));
    assertEquals("1", x.get("vision_depth"));
    // 448x448 is 32 x 32 patches, 256 tokens after the 2x2 merge, plus the chat template around them
    assertTrue(Long.parseLong(x.get("prompt_tokens")) > 256, x.get("prompt_tokens"));
    assertTrue(Double.isFinite(Double.parseDouble(x.get("step1_loss"))), x.toString());
    for (String s : ScaleSuite.STAGES) {
      assertTrue(Double.parseDouble(x.get("step1_" + s + "_s")) >= 0, s);
    }
    assertTrue(Double.parseDouble(x.get("step1_reference_s")) > 0, "beta 0.04: a reference pass");
    assertTrue(Double.parseDouble(x.get("step1_generate_s")) > 0, "the step generates");
    assertTrue(out.contains("| step 1/1 done"), "progress of the step");
    // the weights are resident: the peak cannot be below the shards' bytes
    double shardsGib = Double.parseDouble(x.get("checkpoint_gb")) * 1e9 / (1L << 30);
    assertTrue(Double.parseDouble(x.get("peak_rss_gib")) > shardsGib, x.get("peak_rss_gib") + " GiB peak, "
        + shardsGib + " GiB of shards");
    assertTrue(Double.parseDouble(x.get("estimate_weights_gib")) > 0.9 * shardsGib, x.toString());
    assertTrue(List.of("cold", "warm", "partly-warm").contains(x.get("page_cache")), x.get("page_cache"));
    assertTrue(Double.parseDouble(x.get("load_s")) > 0 && Double.parseDouble(x.get("read2_s")) > 0, x.toString());
    // each stage's peak RSS, none above the run's (the stage resets keep the overall peak)
    for (String stage : ScaleSuite.STAGE_PEAKS) {
      double p = Double.parseDouble(x.get("step1_" + stage + "_peak_rss_gib"));
      assertTrue(p > 0 && p <= Double.parseDouble(x.get("peak_rss_gib")), stage + " " + p + ": " + x);
    }
    assertTrue(out.contains("step 1 peak RSS by stage (GiB): generate "), out);
    assertTrue(Double.parseDouble(x.get("runtime_rss_gib")) > 0, "the runtime's RSS before loading: " + x);
    assertTrue(out.contains("fits in 24 GiB: PASS"), out);
    assertTrue(out.contains("ends within 15 minutes: PASS"), out);
  }

  @Test
  void bothStepsAreTabledWithTheReferenceSplitOutOfTheLoss() {
    long seed = new Random().nextLong();
    System.out.println("ScaleSuiteTest seed " + seed);
    Random r = new Random(seed);
    Map<String, Double> s = new LinkedHashMap<>();
    for (String k : List.of("generate", "score", "loss", "optimizer")) {
      s.put(k, 1 + r.nextInt(1000) / 8.0); // exact in binary, so the sums below are exact
    }
    s.put("reference", s.get("loss") / 2);
    Map<String, String> e = ScaleSuite.stageExtras(2, s);
    assertEquals(ScaleSuite.fmt(s.get("loss") / 2), e.get("step2_loss_fwd_bwd_s"));
    assertEquals(ScaleSuite.fmt(s.get("loss") / 2), e.get("step2_reference_s"));
    assertEquals(ScaleSuite.fmt(s.get("generate") + s.get("score") + s.get("loss") + s.get("optimizer")),
        e.get("step2_total_s"), "the reference is inside the loss: counted once");
    BenchOptions o = new BenchOptions(false, 0, 0, 0, 0, 2, List.of(), List.of(), 1, "/some/dir=x");
    assertEquals(o, BenchOptions.fromArgs(o.toArgs()), "the model folder reaches the forked row");
  }

  /** The row's extras line under its progress, as BenchRunner prints it: key=value separated by two spaces. */
  private static Map<String, String> extras(String out) {
    Map<String, String> x = new LinkedHashMap<>();
    String line = out.lines().filter(l -> l.contains("trainable_params=")).findFirst().orElseThrow(
        () -> new AssertionError("no extras line in:\n" + out));
    for (String kv : line.trim().split("  ")) {
      int eq = kv.indexOf('=');
      x.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return x;
  }
}
