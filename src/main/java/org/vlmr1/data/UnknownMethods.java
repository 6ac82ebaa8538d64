// The accu_reward_method values of a dataset that name no accuracy method: listed once when the data is loaded,
// because the accuracy reward scores them as default (as VLM-R1 does) and a typo would otherwise go unnoticed.
package org.vlmr1.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Collects unknown methods per file (a --reward_method entry) and per line; not thread-safe. */
final class UnknownMethods {
  private static final int LINES_SHOWN = 10;
  private final List<String> fileLevel = new ArrayList<>();
  private final Map<List<String>, List<Integer>> lines = new LinkedHashMap<>(); // (file, method) -> line numbers
  private final MethodNames names; // null: nothing is checked

  UnknownMethods(MethodNames names) {
    this.names = names;
  }

  /** A --reward_method entry for {@code file}; recorded when it is unknown. */
  void file(String file, String method) {
    if (names != null && !names.known().test(method)) {
      fileLevel.add("--reward_method '" + method + "' for " + file + " is not a known accu_reward_method: its "
          + "lines without their own are scored as default, as VLM-R1 does (known: " + known() + ")");
    }
  }

  /** A line's own accu_reward_method; recorded when it is unknown. */
  void line(String file, int lineNo, String method) {
    if (names != null && !names.known().test(method)) {
      lines.computeIfAbsent(List.of(file, method), k -> new ArrayList<>()).add(lineNo);
    }
  }

  /** One entry per unknown file method and per (file, unknown line method), in the order first met. */
  List<String> report() {
    List<String> out = new ArrayList<>(fileLevel);
    lines.forEach((key, nums) -> {
      StringBuilder sb = new StringBuilder(key.get(0)).append(": accu_reward_method '").append(key.get(1))
          .append("' on line").append(nums.size() > 1 ? "s " : " ");
      for (int i = 0; i < Math.min(nums.size(), LINES_SHOWN); i++) {
        sb.append(i > 0 ? ", " : "").append(nums.get(i));
      }
      if (nums.size() > LINES_SHOWN) {
        sb.append(" and ").append(nums.size() - LINES_SHOWN).append(" more");
      }
      out.add(sb.append(" is not a known method: scored as default, as VLM-R1 does (known: ").append(known())
          .append(')').toString());
    });
    return out;
  }

  private String known() {
    return String.join(", ", names.names());
  }
}
