// Data-parallel GRPO with Gloo on loopback (issue 7): 2 and 3 worker processes started by `train --nproc_per_node`
// give the same rewards, metrics and parameters as one process running the same global batch and seed; a worker killed
// mid-run makes the survivor exit with an error naming its rank and the failed collective, within the timeout.
package org.vlmr1.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vlmr1.model.SafeTensorsFile;
import org.vlmr1.util.Json;

@Tag("slow")
class DataParallelTest {

  static int run(String... args) {
    return org.vlmr1.cli.MainAccess.run(args);
  }

  /**
   * Runs a data-parallel {@code train} (the launcher and its workers) and fails unless it exits 0; the failure message
   * carries the end of what was written to stderr meanwhile (the launcher repeats a failed worker's last words), so a
   * report shows why a worker died, not just its exit code.
   */
  static void runLaunched(List<String> args) {
    PrintStream err = System.err;
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    int rc;
    java.io.OutputStream both = new java.io.OutputStream() {
      @Override
      public void write(int b) {
        err.write(b);
        seen.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        err.write(b, off, len);
        seen.write(b, off, len);
      }
    };
    try (PrintStream tee = new PrintStream(both, true, StandardCharsets.UTF_8)) {
      System.setErr(tee);
      rc = run(args.toArray(String[]::new));
    } finally {
      System.setErr(err);
    }
    String text = seen.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, "the launcher's exit code; the end of stderr:\n"
        + text.substring(Math.max(0, text.length() - 6000)));
  }

  static void fixture(Path dir) {
    assertEquals(0, run("make-synthetic", "--out", dir.resolve("data").toString(), "--n", "12", "--width", "84",
        "--height", "56"));
    assertEquals(0, run("init-tiny", "--out", dir.resolve("tiny").toString(), "--hidden_size", "32", "--num_layers",
        "1", "--vision_depth", "1"));
  }

  /** train's arguments: G 2, 2 steps, a reward that varies with completion length, a high learning rate. */
  static List<String> trainArgs(Path dir, Path out, int perDevice, int gas) {
    return new ArrayList<>(List.of("train", "--model_name_or_path", dir.resolve("tiny").toString(),
        "--data_file_paths", dir.resolve("data/data.jsonl").toString(), "--image_folders",
        dir.resolve("data").toString(), "--task_type", "rec", "--reward_funcs", "length", "--num_generations", "2",
        "--per_device_train_batch_size", String.valueOf(perDevice), "--gradient_accumulation_steps",
        String.valueOf(gas), "--max_completion_length", "8", "--max_steps", "2", "--learning_rate", "1e-2",
        "--beta", "0.04", "--seed", "7", "--max_pixels", "12544", "--save_steps", "0", "--output_dir",
        out.toString()));
  }

  /** trainArgs without Qwen's --max_pixels. */
  static List<String> internVl(List<String> args) {
    int i = args.indexOf("--max_pixels");
    args.subList(i, i + 2).clear();
    return args;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> metrics(Path out) throws Exception {
    List<Map<String, Object>> l = new ArrayList<>();
    for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
      l.add((Map<String, Object>) Json.parse(line));
    }
    return l;
  }

  static double num(Map<String, Object> m, String k) {
    return ((Number) m.get(k)).doubleValue();
  }

  /** The same completions (rewards, lengths: exact) and the same loss to f32 reduction order. */
  static void assertSameStep(Map<String, Object> a, Map<String, Object> b, int step) {
    for (String k : new String[] {"reward", "reward_std", "rewards/length", "completion_length"}) {
      assertEquals(num(a, k), num(b, k), 0.0, "step " + step + " " + k + " (same completions)");
    }
    for (String k : new String[] {"loss", "kl", "grad_norm"}) {
      assertEquals(num(a, k), num(b, k), 1e-5 * Math.max(1, Math.abs(num(a, k))), "step " + step + " " + k);
    }
  }

  /**
   * trainArgs plus the accuracy reward with every example's method llm: without OPENAI_API_BASE each completion falls
   * back to exact match, and rewards/llm_judge_fallbacks counts every completion of the step over all ranks.
   */
  static List<String> judgedArgs(Path dir, Path out, int perDevice, int gas) {
    List<String> args = trainArgs(dir, out, perDevice, gas);
    args.set(args.indexOf("length"), "length,accuracy");
    args.addAll(List.of("--reward_method", "llm"));
    return args;
  }

  /** world processes x perDevice x 1 accumulation step against 1 process x perDevice x world accumulation steps. */
  void sameAsOneProcess(Path dir, int world, int perDevice) throws Exception {
    Path single = dir.resolve("single-" + world);
    assertEquals(0, run(judgedArgs(dir, single, perDevice, world).toArray(String[]::new)));
    Path dp = dir.resolve("dp-" + world);
    List<String> args = judgedArgs(dir, dp, perDevice, 1);
    args.addAll(List.of("--nproc_per_node", String.valueOf(world), "--master_port", String.valueOf(freePort()),
        "--dist_timeout", "60", "--check_replicas_steps", "1"));
    runLaunched(args);
    List<Map<String, Object>> a = metrics(single);
    List<Map<String, Object>> b = metrics(dp);
    assertEquals(2, a.size());
    assertEquals(2, b.size(), "rank 0 alone writes metrics");
    for (int s = 0; s < 2; s++) {
      assertSameStep(a.get(s), b.get(s), s + 1);
      assertTrue(b.get(s).containsKey("time/allreduce"), b.get(s).toString());
      if (System.getenv("OPENAI_API_BASE") == null) {
        assertEquals(world * perDevice, num(b.get(s), "rewards/llm_judge_fallbacks"), 0.0, "summed over ranks");
        assertEquals(world * perDevice, num(a.get(s), "rewards/llm_judge_fallbacks"), 0.0);
      }
    }
    assertTrue(num(a.get(0), "grad_norm") > 0, "a real gradient flowed");
    SafeTensorsFile pa = SafeTensorsFile.open(single.resolve("checkpoint-2/model.safetensors"));
    SafeTensorsFile pb = SafeTensorsFile.open(dp.resolve("checkpoint-2/model.safetensors"));
    assertEquals(pa.entries().keySet(), pb.entries().keySet());
    double worst = 0;
    for (String k : pa.entries().keySet()) {
      float[] x = pa.floats(k);
      float[] y = pb.floats(k);
      for (int i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
      }
    }
    // Gradients agree to f32 reduction order (grad_norm above to 1e-5), but AdamW divides each gradient by its own
    // running magnitude, so entries near zero move by up to lr either way: allow 1% of the largest possible movement
    // (2 steps x lr 1e-2).
    System.out.printf("%d processes vs 1: parameters max |diff| %.3g%n", world, worst);
    assertTrue(worst <= 0.01 * 2 * 1e-2, "parameters differ by " + worst);
  }

  /**
   * --use_peft (dropout 0.1: keyed masks) over 2 processes with ZeRO-1 (the adapters' AdamW state sharded) against 1
   * process with 2 accumulation steps: the same completions and losses, the same adapters to AdamW's tolerance, and
   * only adapter gradients reduced (the checkpoint holds adapters only).
   */
  @Test
  void loraTwoProcessesMatchOneProcess(@TempDir Path dir) throws Exception {
    fixture(dir);
    List<String> lora = List.of("--use_peft", "true", "--lora_r", "4", "--lora_alpha", "8", "--lora_dropout", "0.1");
    Path single = dir.resolve("single");
    List<String> one = trainArgs(dir, single, 2, 2);
    one.addAll(lora);
    assertEquals(0, run(one.toArray(String[]::new)));
    Path dp = dir.resolve("dp");
    List<String> args = trainArgs(dir, dp, 2, 1);
    args.addAll(lora);
    args.addAll(List.of("--nproc_per_node", "2", "--master_port", String.valueOf(freePort()), "--dist_timeout", "60",
        "--check_replicas_steps", "1", "--zero_stage", "1"));
    runLaunched(args);
    List<Map<String, Object>> a = metrics(single);
    List<Map<String, Object>> b = metrics(dp);
    for (int s = 0; s < 2; s++) {
      for (String k : new String[] {"reward", "completion_length"}) {
        assertEquals(num(a.get(s), k), num(b.get(s), k), 0.0, "step " + (s + 1) + " " + k);
      }
      for (String k : new String[] {"loss", "kl", "grad_norm"}) {
        assertEquals(num(a.get(s), k), num(b.get(s), k), 1e-5 * Math.max(1, Math.abs(num(a.get(s), k))), k);
      }
    }
    assertTrue(num(a.get(0), "grad_norm") > 0, "a real gradient flowed");
    assertFalse(Files.exists(dp.resolve("checkpoint-2/model.safetensors")), "adapters only");
    SafeTensorsFile pa = SafeTensorsFile.open(single.resolve("checkpoint-2/adapter_model.safetensors"));
    SafeTensorsFile pb = SafeTensorsFile.open(dp.resolve("checkpoint-2/adapter_model.safetensors"));
    assertEquals(pa.entries().keySet(), pb.entries().keySet());
    double worst = 0;
    double maxB = 0;
    for (String k : pa.entries().keySet()) {
      float[] x = pa.floats(k);
      float[] y = pb.floats(k);
      for (int i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
        maxB = k.endsWith("lora_B.weight") ? Math.max(maxB, Math.abs(x[i])) : maxB;
      }
    }
    System.out.printf("LoRA 2 processes vs 1: adapters max |diff| %.3g (max |B| %.3g)%n", worst, maxB);
    assertTrue(maxB > 1e-3, "the adapters trained (B left zero)");
    assertTrue(worst <= 0.01 * 2 * 1e-2, "adapters differ by " + worst);
  }

  @Test
  void twoAndThreeProcessesMatchOneProcess(@TempDir Path dir) throws Exception {
    fixture(dir);
    sameAsOneProcess(dir, 2, 3);
    sameAsOneProcess(dir, 3, 2);
  }

  /**
   * G 8 with 4 completions per optimizer step: a generation round of 8 spans 2 steps, and its group spans both ranks
   * of 2 processes x 2 per device; the same completions, rewards and losses as 1 process x 2 accumulation steps.
   */
  @Test
  void aGroupSpanningStepsAndRanksMatchesOneProcess(@TempDir Path dir) throws Exception {
    fixture(dir);
    Path single = dir.resolve("single");
    List<String> one = trainArgs(dir, single, 2, 2);
    one.addAll(List.of("--num_generations", "8"));
    assertEquals(0, run(one.toArray(String[]::new)));
    Path dp = dir.resolve("dp");
    List<String> two = trainArgs(dir, dp, 2, 1);
    two.addAll(List.of("--num_generations", "8", "--nproc_per_node", "2", "--master_port",
        String.valueOf(freePort()), "--dist_timeout", "60"));
    runLaunched(two);
    List<Map<String, Object>> a = metrics(single);
    List<Map<String, Object>> b = metrics(dp);
    assertEquals(2, a.size());
    assertEquals(2, b.size());
    for (int s = 0; s < 2; s++) {
      assertSameStep(a.get(s), b.get(s), s + 1);
    }
    assertEquals(0.0, num(a.get(1), "time/generate"), "step 2 trains on the round's second half");
    assertTrue(num(a.get(1), "grad_norm") > 0, "a real gradient flowed in step 2");
  }

  @Test
  void zeroOneShardedStateGivesTheSameParametersAndResumes(@TempDir Path dir) throws Exception {
    fixture(dir);
    Path plain = dir.resolve("plain");
    Path zero = dir.resolve("zero1");
    for (Path out : new Path[] {plain, zero}) {
      List<String> args = trainArgs(dir, out, 3, 1);
      args.addAll(List.of("--nproc_per_node", "2", "--master_port", String.valueOf(freePort()), "--dist_timeout",
          "60", "--zero_stage", out == zero ? "1" : "0"));
      runLaunched(args);
    }
    assertTrue(Files.isRegularFile(zero.resolve("checkpoint-2/optimizer-rank0-of-2.pt")));
    assertTrue(Files.isRegularFile(zero.resolve("checkpoint-2/optimizer-rank1-of-2.pt")));
    assertTrue(Files.isRegularFile(plain.resolve("checkpoint-2/optimizer.pt")));
    SafeTensorsFile pa = SafeTensorsFile.open(plain.resolve("checkpoint-2/model.safetensors"));
    SafeTensorsFile pb = SafeTensorsFile.open(zero.resolve("checkpoint-2/model.safetensors"));
    for (String k : pa.entries().keySet()) {
      assertTrue(java.util.Arrays.equals(pa.floats(k), pb.floats(k)), k + ": ZeRO-1 = unsharded, bit for bit");
    }
    // Resume the sharded run for one more step on the same number of processes.
    List<String> more = trainArgs(dir, zero, 3, 1);
    more.set(more.indexOf("--max_steps") + 1, "3");
    more.addAll(List.of("--nproc_per_node", "2", "--master_port", String.valueOf(freePort()), "--dist_timeout", "60",
        "--zero_stage", "1"));
    runLaunched(more);
    assertEquals(3, metrics(zero).size());
    assertTrue(Files.isRegularFile(zero.resolve("checkpoint-3/optimizer-rank1-of-2.pt")));
    // The unsharded run resumes on another world size that keeps the global batch: 1 process x 2 accumulation steps.
    List<String> one = trainArgs(dir, plain, 3, 2);
    one.set(one.indexOf("--max_steps") + 1, "3");
    assertEquals(0, run(one.toArray(String[]::new)));
    assertEquals(3, metrics(plain).size());
    // A sharded checkpoint cannot resume unsharded: the error says how to resume it.
    List<String> wrong = trainArgs(dir, zero, 3, 2);
    wrong.set(wrong.indexOf("--max_steps") + 1, "4");
    assertEquals(1, run(wrong.toArray(String[]::new)));
  }

  /**
   * An untied head (InternVL): its gradient all-reduce starts during the backward pass; the result equals the
   * reduction without overlap bit for bit, and one process with the same global batch.
   */
  @Test
  void overlappedHeadReductionOnInternVlMatches(@TempDir Path dir) throws Exception {
    // trainArgs' --max_pixels is Qwen's processing keyword, which an InternVL checkpoint refuses: drop it here.
    assertEquals(0, run("make-synthetic", "--out", dir.resolve("data").toString(), "--n", "12", "--width", "84",
        "--height", "56"));
    assertEquals(0, run("init-tiny", "--family", "internvl_chat", "--out", dir.resolve("tiny").toString(),
        "--hidden_size", "32", "--num_layers", "1", "--vision_depth", "1", "--max_dynamic_patch", "2"));
    Path single = dir.resolve("single");
    assertEquals(0, run(internVl(trainArgs(dir, single, 3, 2)).toArray(String[]::new)));
    Path[] dp = {dir.resolve("overlap"), dir.resolve("plain")};
    for (Path out : dp) {
      List<String> args = internVl(trainArgs(dir, out, 3, 1));
      args.addAll(List.of("--nproc_per_node", "2", "--master_port", String.valueOf(freePort()), "--dist_timeout",
          "60", "--overlap_grad_reduce", String.valueOf(out == dp[0]), "--check_replicas_steps", "1"));
      runLaunched(args);
    }
    SafeTensorsFile a = SafeTensorsFile.open(dp[0].resolve("checkpoint-2/model.safetensors"));
    SafeTensorsFile b = SafeTensorsFile.open(dp[1].resolve("checkpoint-2/model.safetensors"));
    SafeTensorsFile c = SafeTensorsFile.open(single.resolve("checkpoint-2/model.safetensors"));
    double worst = 0;
    for (String k : a.entries().keySet()) {
      float[] x = a.floats(k);
      assertTrue(java.util.Arrays.equals(x, b.floats(k)), k + ": overlapped = plain reduction, bit for bit");
      float[] y = c.floats(k);
      for (int i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
      }
    }
    System.out.printf("InternVL 2 processes (overlapped head reduce) vs 1: parameters max |diff| %.3g%n", worst);
    assertTrue(worst <= 0.01 * 2 * 1e-2, "parameters differ by " + worst);
    List<Map<String, Object>> ms = metrics(single);
    List<Map<String, Object>> mo = metrics(dp[0]);
    for (int s = 0; s < 2; s++) {
      assertEquals(num(ms.get(s), "reward"), num(mo.get(s), "reward"), 0.0);
    }
  }

  @Test
  void aKilledWorkerEndsTheRunOnTheOthers(@TempDir Path dir) throws Exception {
    fixture(dir);
    Path out = dir.resolve("run");
    List<String> args = trainArgs(dir, out, 2, 1);
    args.set(args.indexOf("--max_steps") + 1, "500");
    args.addAll(List.of("--dist_timeout", "20"));
    int port = freePort();
    List<Process> workers = new ArrayList<>();
    Path err0 = dir.resolve("rank0.err");
    for (int rank = 0; rank < 2; rank++) {
      List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx2g",
          "-cp", System.getProperty("java.class.path"), "org.vlmr1.cli.Main"));
      cmd.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().putAll(Map.of("RANK", String.valueOf(rank), "LOCAL_RANK", String.valueOf(rank), "WORLD_SIZE",
          "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", String.valueOf(port)));
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      pb.redirectError(rank == 0 ? ProcessBuilder.Redirect.to(err0.toFile()) : ProcessBuilder.Redirect.DISCARD);
      workers.add(pb.start());
    }
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!(Files.exists(out.resolve("metrics.jsonl")) && Files.size(out.resolve("metrics.jsonl")) > 0)) {
        assertTrue(System.nanoTime() < deadline && workers.get(0).isAlive(), "the run started training");
        Thread.sleep(200);
      }
      workers.get(1).destroyForcibly(); // kill -9 rank 1
      long t0 = System.nanoTime();
      assertTrue(workers.get(0).waitFor(60, TimeUnit.SECONDS), "rank 0 exits instead of hanging");
      double sec = (System.nanoTime() - t0) / 1e9;
      String err = Files.readString(err0);
      System.out.printf("rank 0 exited %.1f s after rank 1 was killed: %s%n", sec, err.strip().lines()
          .reduce((x, y) -> y).orElse(""));
      assertTrue(workers.get(0).exitValue() != 0, "non-zero exit");
      assertTrue(err.contains("rank 0 of 2") && err.contains("timeout"), err);
    } finally {
      workers.forEach(Process::destroyForcibly);
    }
  }

  /**
   * Images that pass validation but fail to decode mid-run, --on_bad_sample skip: 2 processes x 3 per device agree
   * with 1 process x 2 accumulation steps on every metric (skipped_prompts, rewards and loss over the prompts left),
   * and each rank's completions log gives the skipped prompts' rows advantage 0.
   */
  @Test
  @SuppressWarnings("unchecked")
  void imagesFailingMidRunAreSkippedAlikeOnEveryRank(@TempDir Path dir) throws Exception {
    fixture(dir);
    List<String> lines = Files.readAllLines(dir.resolve("data/data.jsonl"));
    for (int i = 0; i < 4; i++) {
      Path img = dir.resolve("data").resolve((String) ((Map<String, Object>) Json.parse(lines.get(i))).get("image"));
      java.awt.image.BufferedImage b = javax.imageio.ImageIO.read(img.toFile());
      org.vlmr1.data.BadImageFiles.pngWithCorruptData(img, b.getWidth(), b.getHeight());
    }
    Path single = dir.resolve("single");
    List<String> one = trainArgs(dir, single, 3, 2);
    one.addAll(List.of("--on_bad_sample", "skip", "--log_completions"));
    assertEquals(0, run(one.toArray(String[]::new)));
    Path dp = dir.resolve("dp");
    List<String> two = trainArgs(dir, dp, 3, 1);
    two.addAll(List.of("--on_bad_sample", "skip", "--log_completions", "--nproc_per_node", "2", "--master_port",
        String.valueOf(freePort()), "--dist_timeout", "60"));
    runLaunched(two);
    List<Map<String, Object>> a = metrics(single);
    List<Map<String, Object>> b = metrics(dp);
    double skipped = 0;
    for (int s = 0; s < 2; s++) {
      assertSameStep(a.get(s), b.get(s), s + 1);
      assertEquals(num(a.get(s), "skipped_prompts"), num(b.get(s), "skipped_prompts"), 0.0);
      skipped += num(b.get(s), "skipped_prompts");
    }
    assertTrue(skipped >= 1, "the seed draws a prompt with a corrupt image: " + b);
    java.util.Set<Object> fromOne = new java.util.TreeSet<>();
    java.util.Set<Object> fromRanks = new java.util.TreeSet<>();
    for (Path log : new Path[] {single.resolve("completions.jsonl"), dp.resolve("completions-rank0.jsonl"),
        dp.resolve("completions-rank1.jsonl")}) {
      for (String line : Files.readAllLines(log)) {
        Map<String, Object> row = (Map<String, Object>) Json.parse(line);
        if (row.containsKey("skipped")) {
          assertEquals(0.0, num(row, "advantage"), log + ": " + row);
          (log.getFileName().toString().equals("completions.jsonl") ? fromOne : fromRanks)
              .add(((Number) row.get("sample_index")).longValue());
        }
      }
    }
    assertEquals(2 * skipped, fromOne.size(), "G rows per skipped prompt");
    assertEquals(fromOne, fromRanks, "the ranks skip the rows one process skips");
  }
}
