// The append-only logs of a run (metrics.jsonl, completions*.jsonl, VLM-R1's DEBUG_MODE reward traces) kept true
// across kills and resumes: each checkpoint records every log's length when it was written, and a resumed run first
// cuts the logs back to those lengths, so the steps after the checkpoint, which the killed run logged and the resumed
// run logs again, appear once. A run killed before its first checkpoint is cut back to the lengths its logs had when
// it started (recorded in the run folder), so a fresh start does not follow the killed run's rows.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.vlmr1.util.Json;

/** Records and restores the lengths of a run's logs. Only rank 0 of a run calls it. */
public final class RunLogs {
  /** In each checkpoint: every log's length in bytes when the checkpoint was written. */
  public static final String RECORD = "run_logs.json";
  /** In the run folder: the logs' lengths when the current run started (for a run killed before any checkpoint). */
  static final String AT_START = ".vlmr1_logs_at_start.json";

  private final Path runDir;
  private final List<Path> external;

  /**
   * @param runDir the output folder (metrics.jsonl and completions*.jsonl live there)
   * @param external logs outside it that the run appends to (the DEBUG_MODE traces at LOG_PATH), absolute or not
   */
  public RunLogs(Path runDir, List<Path> external) {
    this.runDir = runDir;
    this.external = external.stream().map(p -> p.toAbsolutePath().normalize()).toList();
  }

  /**
   * Cuts every log back to what {@code checkpoint} recorded (or, starting at step 0, to the lengths the logs had
   * when the previous, killed run started at step 0; for a checkpoint written before this record existed, the JSONL
   * logs lose their rows after its step); a start at step 0 then records the lengths it starts from. Call before any
   * rank writes a log.
   *
   * @param checkpoint the checkpoint the run resumes from, or null for a start at step 0
   * @param step the checkpoint's step (0 without one)
   * @return what was cut, one line per log, for the console
   */
  public List<String> rewind(Path checkpoint, int step) throws IOException {
    List<String> cut = new ArrayList<>();
    Path record = checkpoint != null ? checkpoint.resolve(RECORD) : runDir.resolve(AT_START);
    if (Files.isRegularFile(record)) {
      Map<String, Object> lengths = Json.readObject(record);
      for (Path log : files()) {
        Object recorded = lengths.get(key(log));
        long keep = recorded instanceof Number n ? n.longValue() : 0L; // a log the record lacks came later
        truncate(log, keep, cut);
      }
    } else if (checkpoint != null) {
      for (Path log : files()) {
        if (log.getFileName().toString().endsWith(".jsonl")) {
          dropRowsAfter(log, step, cut);
        }
      }
    } else {
      // A start at step 0 with no record: the folder's own JSONL logs are from no checkpointed step, so empty them.
      for (Path log : files()) {
        if (log.startsWith(runDir.toAbsolutePath().normalize()) && log.getFileName().toString().endsWith(".jsonl")) {
          truncate(log, 0, cut);
        }
      }
    }
    if (checkpoint == null) {
      writeLengths(runDir.resolve(AT_START)); // where this run's logs begin, until its first checkpoint
    }
    return cut;
  }

  /** Writes the logs' current lengths into a checkpoint being written. */
  public void record(Path checkpointDir) throws IOException {
    writeLengths(checkpointDir.resolve(RECORD));
  }

  /** Every metrics.jsonl row in order: trainer_state.json's log_history, over the whole run, resumes included. */
  public List<Object> metricsRows() throws IOException {
    Path metrics = runDir.resolve("metrics.jsonl");
    List<Object> rows = new ArrayList<>();
    if (Files.isRegularFile(metrics)) {
      for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          rows.add(Json.parse(line));
        }
      }
    }
    return rows;
  }

  /** --overwrite: deletes the run folder's own logs and start record (external logs are not the run's alone). */
  public void deleteOwn() throws IOException {
    Path dir = runDir.toAbsolutePath().normalize();
    for (Path log : files()) {
      if (log.startsWith(dir)) {
        Files.deleteIfExists(log);
      }
    }
    Files.deleteIfExists(dir.resolve(AT_START));
  }

  /** metrics.jsonl, the completion logs of every rank, and the external logs. */
  List<Path> files() throws IOException {
    List<Path> out = new ArrayList<>();
    Path dir = runDir.toAbsolutePath().normalize();
    out.add(dir.resolve("metrics.jsonl"));
    if (Files.isDirectory(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(p -> p.getFileName().toString().matches("completions(-rank\\d+)?\\.jsonl")).sorted().forEach(out::add);
      }
    }
    out.addAll(external);
    return out;
  }

  /** A log's name in a record: relative to the run folder inside it (the folder may move), else absolute. */
  private String key(Path log) {
    Path dir = runDir.toAbsolutePath().normalize();
    return log.startsWith(dir) ? dir.relativize(log).toString() : log.toString();
  }

  private void writeLengths(Path file) throws IOException {
    Map<String, Object> lengths = new LinkedHashMap<>();
    for (Path log : files()) {
      lengths.put(key(log), Files.isRegularFile(log) ? Files.size(log) : 0L);
    }
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Json.writeFile(tmp, lengths);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  private void truncate(Path log, long keep, List<String> cut) throws IOException {
    if (!Files.isRegularFile(log) || Files.size(log) <= keep) {
      return;
    }
    long before = Files.size(log);
    try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
      ch.truncate(keep);
    }
    cut.add(key(log) + ": " + (before - keep) + " bytes written after the checkpoint removed");
  }

  /** For checkpoints without a record: keeps the rows of steps up to {@code step}, the last row of each step. */
  private void dropRowsAfter(Path log, int step, List<String> cut) throws IOException {
    if (!Files.isRegularFile(log)) {
      return;
    }
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    List<String> kept = new ArrayList<>();
    for (String line : lines) {
      Object row;
      try {
        row = line.isBlank() ? null : Json.parse(line);
      } catch (IllegalArgumentException e) {
        continue; // a line cut by the kill
      }
      if (row instanceof Map<?, ?> m && m.get("step") instanceof Number n && n.intValue() <= step) {
        kept.add(line);
      }
    }
    if (kept.size() != lines.size()) {
      Path tmp = log.resolveSibling(log.getFileName() + ".tmp");
      Files.write(tmp, kept, StandardCharsets.UTF_8);
      Files.move(tmp, log, StandardCopyOption.REPLACE_EXISTING);
      cut.add(key(log) + ": " + (lines.size() - kept.size()) + " rows after step " + step + " removed");
    }
  }
}
