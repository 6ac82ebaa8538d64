// A subcommand of bin/vlmr1.
package org.vlmr1.cli;

import java.util.List;

/** One {@code vlmr1 <command>}: its flags, and what it runs. */
public interface Command {
  String name();

  /** One line for {@code vlmr1 --help}. */
  String summary();

  /** Positional arguments, for the usage line (e.g. "<suite>"); empty when none. */
  default String positionalsUsage() {
    return "";
  }

  /** How many positional words the command takes (one per word of {@link #positionalsUsage}); more are errors. */
  default int positionalCount() {
    String u = positionalsUsage().trim();
    return u.isEmpty() ? 0 : u.split("\\s+").length;
  }

  List<FlagSpec> flags();

  /** Runs the command; returns the process exit code. */
  int run(Flags flags) throws Exception;
}
