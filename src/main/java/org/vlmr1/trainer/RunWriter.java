// The run folder of a training run: metrics.jsonl (TRL's names), checkpoints written atomically (temporary folder,
// then rename) with trainer_state.json, the run's provenance and a manifest of sizes and CRC32Cs, after a free-space
// check; the save_total_limit pruning; and the newest checkpoint that verifies, for resuming.
package org.vlmr1.trainer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.vlmr1.util.Json;

/** Writes what a run leaves on disk. */
public final class RunWriter {
  private final Path dir;
  private final boolean saveOnlyModel;
  private final RunProvenance provenance; // null: checkpoints record none (the demo)
  private final RunLogs logs; // null: log_history holds this process's steps only, no log lengths recorded

  public RunWriter(Path dir) throws IOException {
    this(dir, false);
  }

  /** @param saveOnlyModel checkpoints without optimizer or master files (--save_only_model) */
  public RunWriter(Path dir, boolean saveOnlyModel) throws IOException {
    this(dir, saveOnlyModel, null, null);
  }

  /**
   * @param provenance the starting model and flags each checkpoint records, or null
   * @param logs the run's logs, whose lengths each checkpoint records and whose metrics rows make its log_history;
   *     null keeps log_history to the steps this process ran
   */
  public RunWriter(Path dir, boolean saveOnlyModel, RunProvenance provenance, RunLogs logs) throws IOException {
    this.dir = dir;
    this.saveOnlyModel = saveOnlyModel;
    this.provenance = provenance;
    this.logs = logs;
    Files.createDirectories(dir);
    for (Path p : deleteTemporaryFolders(dir)) {
      System.out.println("removed " + p + " (left by an interrupted save)");
    }
  }

  /** Whether {@code name} is a folder a save writes before its rename: a checkpoint or the ranks' shards. */
  static boolean isTemporary(String name) {
    return name.startsWith(".tmp-checkpoint-") || name.startsWith(".tmp-shards-");
  }

  /**
   * Deletes the temporary folders of saves that a stopped or killed run left in {@code runDir}. Called once when a
   * run starts (rank 0), before anything is saved; resume only ever picks {@code checkpoint-<step>} folders.
   *
   * @return the folders deleted
   */
  public static List<Path> deleteTemporaryFolders(Path runDir) throws IOException {
    if (!Files.isDirectory(runDir)) {
      return List.of();
    }
    List<Path> tmp;
    try (Stream<Path> s = Files.list(runDir)) {
      tmp = s.filter(p -> isTemporary(p.getFileName().toString())).sorted().toList();
    }
    for (Path p : tmp) {
      deleteTree(p);
    }
    return tmp;
  }

  public Path dir() {
    return dir;
  }

  /** Appends one metrics line ({@code step}, {@code loss}, {@code reward}, {@code rewards/<f>}, {@code kl}, ...). */
  public void log(StepMetrics m, double stepSeconds) throws IOException {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("step", m.step());
    row.put("loss", m.loss());
    row.put("reward", m.reward());
    row.put("reward_std", m.rewardStd());
    m.rewards().forEach((k, v) -> row.put("rewards/" + k, v));
    row.put("kl", m.kl());
    row.put("entropy", m.entropy());
    row.put("clip_ratio/region_mean", m.clipRatio());
    row.put("completion_length", m.completionLength());
    row.put("grad_norm", m.gradNorm());
    row.put("learning_rate", m.learningRate());
    row.put("step_seconds", stepSeconds);
    m.seconds().forEach((k, v) -> row.put("time/" + k, v));
    row.put("tokens_per_second", m.seconds().getOrDefault("generate", 0.0) > 0
        ? m.completionTokens() / m.seconds().get("generate") : 0.0);
    row.put("skipped", m.skipped());
    row.put("skipped_prompts", m.skippedPrompts());
    try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      w.write(Json.write(row));
      w.newLine();
    }
  }

  /**
   * Saves {@code checkpoint-<step>}: the model in the Hugging Face layout (with LoRA: adapter_model.safetensors and
   * adapter_config.json in PEFT's) and trainer_state.json, written into a
   * temporary folder and renamed, so a crash never leaves a half checkpoint; then keeps the newest {@code limit}.
   */
  public Path checkpoint(org.vlmr1.model.VlmModel model, GrpoTrainer trainer, int step, List<StepMetrics> history,
      int limit)
      throws IOException {
    return checkpoint(model, trainer, step, history, limit, null);
  }

  /**
   * The folder where every rank writes its optimizer shard before rank 0 completes checkpoint {@code step} (ZeRO-1).
   */
  public static Path shardFolder(Path runDir, int step) {
    return runDir.resolve(".tmp-shards-" + step);
  }

  /**
   * {@link #checkpoint} that also moves the files of {@code shards} (the ranks' optimizer shards, or null) into the
   * checkpoint before it becomes visible.
   */
  public Path checkpoint(org.vlmr1.model.VlmModel model, GrpoTrainer trainer, int step, List<StepMetrics> history,
      int limit, Path shards) throws IOException {
    Path tmp = dir.resolve(".tmp-checkpoint-" + step);
    deleteTree(tmp);
    DiskSpace.require(dir, trainer.checkpointTensorBytes(saveOnlyModel), shards == null ? 0 : treeBytes(shards), step,
        DiskSpace.FILE_STORE);
    if (model.lora() != null) { // PEFT's layout: the adapters only, over the unchanged base model
      org.vlmr1.model.LoraCheckpoint.save(model.lora(), provenance != null ? provenance.model().path() : null, tmp);
    } else {
      model.save(tmp);
    }
    trainer.saveState(tmp, saveOnlyModel);
    if (shards != null) {
      try (Stream<Path> s = Files.list(shards)) {
        for (Path f : s.toList()) {
          Files.move(f, tmp.resolve(f.getFileName()));
        }
      }
      deleteTree(shards);
    }
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("global_step", step);
    // With the run's logs: every logged step of the whole run (earlier runs of a resumed one included), once.
    state.put("log_history", logs != null ? logs.metricsRows() : history.stream().map(m -> Map.of("step", m.step(),
        "loss", m.loss(), "reward", m.reward())).toList());
    Files.writeString(tmp.resolve("trainer_state.json"), Json.write(state));
    if (logs != null) {
      logs.record(tmp);
    }
    if (provenance != null) {
      provenance.write(tmp);
    }
    CheckpointManifest.write(tmp); // last: it lists every other file
    Path target = dir.resolve("checkpoint-" + step);
    deleteTree(target);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    if (limit > 0) {
      List<Path> all = checkpoints(dir);
      for (int i = 0; i < all.size() - limit; i++) {
        deleteTree(all.get(i));
      }
    }
    return target;
  }

  /** The newest complete checkpoint of a run folder (one that has its resume state), or null. */
  public static Path latestCheckpoint(Path runDir) throws IOException {
    List<Path> all = checkpoints(runDir);
    for (int i = all.size() - 1; i >= 0; i--) {
      if (isComplete(all.get(i))) {
        return all.get(i);
      }
    }
    return null;
  }

  /**
   * The checkpoint an automatic resume continues from: the newest complete one that verifies against its manifest
   * (one without a manifest, written by an older vlmr1, is accepted with a warning); each newer one that fails is
   * reported to {@code report} with the reason. Null when the folder has no complete checkpoint.
   *
   * @throws IOException when complete checkpoints exist but none verifies
   */
  public static Path resumableCheckpoint(Path runDir, Consumer<String> report) throws IOException {
    List<Path> all = checkpoints(runDir);
    List<String> skipped = new ArrayList<>();
    for (int i = all.size() - 1; i >= 0; i--) {
      Path c = all.get(i);
      if (!isComplete(c)) {
        continue;
      }
      CheckpointManifest.Verdict v = CheckpointManifest.verify(c);
      if (v.status() == CheckpointManifest.Status.FAILED) {
        String why = c.getFileName() + " skipped: " + v.reason();
        report.accept(why);
        skipped.add(why);
        continue;
      }
      if (v.status() == CheckpointManifest.Status.NO_MANIFEST) {
        report.accept(c.getFileName() + " not verified: " + v.reason());
      }
      return c;
    }
    if (!skipped.isEmpty()) {
      throw new IOException("no checkpoint in " + runDir + " verifies (" + String.join("; ", skipped) + "): resume "
          + "from one with --resume_from_checkpoint PATH after repairing it, or start over with "
          + "--resume_from_checkpoint False --overwrite");
    }
    return null;
  }

  /**
   * Why {@code checkpoint} fails its manifest, or null when it verifies or has none (an older vlmr1's; then
   * {@code report} hears so).
   */
  public static String verificationFailure(Path checkpoint, Consumer<String> report) {
    CheckpointManifest.Verdict v = CheckpointManifest.verify(checkpoint);
    if (v.status() == CheckpointManifest.Status.NO_MANIFEST) {
      report.accept(checkpoint + " not verified: " + v.reason());
    }
    return v.status() == CheckpointManifest.Status.FAILED ? v.reason() : null;
  }

  private static long treeBytes(Path folder) throws IOException {
    try (Stream<Path> s = Files.walk(folder)) {
      long n = 0;
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        n += Files.size(p);
      }
      return n;
    }
  }

  /** Every checkpoint-N folder of a run folder, complete or not, in step order. */
  public static List<Path> checkpoints(Path runDir) throws IOException {
    if (!Files.isDirectory(runDir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(runDir)) {
      return s.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+"))
          .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(11)))).toList();
    }
  }

  /** Whether {@code checkpoint} holds what resuming needs (its resume state, written last before the rename). */
  public static boolean isComplete(Path checkpoint) {
    return Files.isRegularFile(checkpoint.resolve(TrainerCheckpoint.RESUME_STATE));
  }

  public static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
