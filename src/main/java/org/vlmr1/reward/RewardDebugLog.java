// VLM-R1's DEBUG_MODE trace: with DEBUG_MODE=true, its accuracy and format rewards append every scored completion to
// LOG_PATH and to LOG_PATH with ".txt" replaced by "_format.txt" (grpo_jsonl.py accuracy_reward, format_reward).
package org.vlmr1.reward;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vlmr1.util.PyRepr;

/**
 * Appends VLM-R1's reward trace. The accuracy log gets, per completion whose reward is at most 1.0 (VLM-R1's
 * condition):
 * <pre>
 * ------------- 07-14-03-59-123456 Accuracy reward: 1.0 -------------
 * accu_reward_method: default
 * image_path: ['/data/img/1.jpg']
 * problem: the lady with the blue shirt
 * Content: &lt;think&gt;...&lt;/think&gt;&lt;answer&gt;3&lt;/answer&gt;
 * Solution: &lt;answer&gt; 3 &lt;/answer&gt;
 * </pre>
 * The format log gets, per scored batch, {@code ------------- <time> Format reward -------------} and then per
 * completion {@code Content: ...} and {@code Has format: True} or {@code False}. Times are local
 * {@code %d-%H-%M-%S-%f} (day of month to microseconds); values are written as Python's f-strings write them
 * ({@link PyRepr}). A text-only example's image_path is {@code None}.
 *
 * <p>Unlike VLM-R1, whose accuracy trace prints the first example of the call's batch for every completion
 * ({@code kwargs["problem"][0]}), each block names its own example. A batch is written in one append under a lock
 * per file, so the lines of one completion (and of one batch) stay together when rewards are scored on a pool.
 * A failed write warns once and training goes on.
 */
public final class RewardDebugLog {
  /** No trace (DEBUG_MODE unset or not "true"). */
  public static final RewardDebugLog OFF = new RewardDebugLog(null, null, Clock.systemDefaultZone());

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("dd-HH-mm-ss-SSSSSS");
  private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();
  private final Path accuracyLog;
  private final Path formatLog;
  private final Clock clock;
  private final AtomicBoolean warned = new AtomicBoolean();

  private RewardDebugLog(Path accuracyLog, Path formatLog, Clock clock) {
    this.accuracyLog = accuracyLog;
    this.formatLog = formatLog;
    this.clock = clock;
  }

  /**
   * VLM-R1's switch: {@code DEBUG_MODE} exactly "true" turns the trace on and then {@code LOG_PATH} is required.
   *
   * @throws IllegalArgumentException DEBUG_MODE=true without LOG_PATH (VLM-R1 would fail at its first write)
   */
  public static RewardDebugLog fromEnvironment(Map<String, String> env) {
    if (!"true".equals(env.get("DEBUG_MODE"))) {
      return OFF;
    }
    String path = env.get("LOG_PATH");
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("DEBUG_MODE=true needs LOG_PATH, the file the reward trace is appended to "
          + "(e.g. LOG_PATH=runs/exp/log/debug_log.txt)");
    }
    return to(path, Clock.systemDefaultZone());
  }

  /** A trace to {@code logPath} (format trace: ".txt" replaced by "_format.txt", as Python's str.replace does). */
  public static RewardDebugLog to(String logPath, Clock clock) {
    return new RewardDebugLog(Path.of(logPath), Path.of(logPath.replace(".txt", "_format.txt")), clock);
  }

  public boolean enabled() {
    return accuracyLog != null;
  }

  /** The accuracy trace file, or null when off. */
  public Path accuracyLog() {
    return accuracyLog;
  }

  /** The format trace file, or null when off. */
  public Path formatLog() {
    return formatLog;
  }

  /** The accuracy reward's blocks for a scored batch. */
  void accuracy(List<RewardSample> samples, double[] scores) {
    if (!enabled()) {
      return;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < samples.size(); i++) {
      if (!(scores[i] <= 1.0)) { // VLM-R1 logs `if reward <= 1.0`, which NaN fails too
        continue;
      }
      RewardSample s = samples.get(i);
      sb.append("------------- ").append(now()).append(" Accuracy reward: ").append(PyRepr.repr(scores[i]))
          .append(" -------------\n");
      sb.append("accu_reward_method: ").append(s.accuRewardMethod() == null ? "default" : s.accuRewardMethod())
          .append('\n');
      sb.append("image_path: ").append(s.imagePaths().isEmpty() ? "None"
          : PyRepr.repr(s.imagePaths().stream().map(Path::toString).toList())).append('\n');
      sb.append("problem: ").append(s.problem() == null ? "None" : s.problem()).append('\n');
      sb.append("Content: ").append(s.completion()).append('\n');
      sb.append("Solution: ").append(s.solution()).append('\n');
    }
    append(accuracyLog, sb);
  }

  /** The format reward's header and lines for a scored batch. */
  void format(List<RewardSample> samples, double[] scores) {
    if (!enabled()) {
      return;
    }
    StringBuilder sb = new StringBuilder("------------- ").append(now()).append(" Format reward -------------\n");
    for (int i = 0; i < samples.size(); i++) {
      sb.append("Content: ").append(samples.get(i).completion()).append('\n');
      sb.append("Has format: ").append(scores[i] > 0 ? "True" : "False").append('\n');
    }
    append(formatLog, sb);
  }

  private String now() {
    return LocalDateTime.now(clock).format(TIME);
  }

  private void append(Path file, CharSequence text) {
    if (text.length() == 0) {
      return;
    }
    Path key = file.toAbsolutePath().normalize();
    synchronized (LOCKS.computeIfAbsent(key, k -> new Object())) {
      try {
        if (key.getParent() != null) {
          Files.createDirectories(key.getParent());
        }
        // One append-mode write per batch: other processes of a data-parallel run append to the same file.
        try (FileChannel ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND)) {
          ByteBuffer buf = StandardCharsets.UTF_8.encode(text.toString());
          while (buf.hasRemaining()) {
            ch.write(buf);
          }
        }
      } catch (IOException e) {
        if (warned.compareAndSet(false, true)) {
          System.err.println("warning: cannot append the DEBUG_MODE reward trace to " + key + ": " + e
              + " (training goes on without it)");
        }
      }
    }
  }
}
