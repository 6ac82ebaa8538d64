// bin/vlmr1's entry point: dispatches to the subcommands. Exit 0 on success, 2 for a bad command line, 1 for a
// failure, with a one-line cause on stderr (the stack trace only with --debug).
package org.vlmr1.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vlmr1.distributed.DistEnv;
import org.vlmr1.util.NativeProcess;
import org.vlmr1.util.StopSignals;

/** The vlmr1 command line. Run through bin/vlmr1, or {@code java -cp ... org.vlmr1.cli.Main <command> ...}. */
public final class Main {
  static final String VERSION = "0.1.0-SNAPSHOT";
  private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
  private static List<String> currentArgs = List.of();

  static {
    for (Command c : List.of(new TrainCommand(), new SftCommand(), new EvalCommand(), new MakeSyntheticCommand(),
        new PrepareCommand(), new ModelCommands.Forward(), new ModelCommands.Generate(),
        new InitTinyCommand(), new ScoreCommand(), new BenchCommand(), new DoctorCommand(), new MergeLoraCommand())) {
      COMMANDS.put(c.name(), c);
    }
  }

  private Main() {}

  public static void main(String[] args) {
    StopSignals.install();
    int code = run(List.of(args), System.out, System.err);
    if (launchedWorker(System.getenv())) {
      // System.exit runs the C library's exit(), whose teardown of libtorch's and Gloo's static objects can race with
      // the threads still alive in a worker (Gloo's event loop waking on the sockets its peers close as they exit,
      // JavaCPP's deallocator thread freeing tensors the garbage collector released). Launched workers died with
      // SIGABRT (exit 134) 3 times in about 20 full test runs, under load; about 140 launched runs here (330 workers)
      // did not reproduce it and the native kernels run clean under AddressSanitizer, so this race is the suspect,
      // not a proven cause. The same kind of race was seen directly once: a JVM stopped by SIGTERM while its main
      // thread sat in a libtorch matrix product (StopSignalsTest's embedded case) crashed with SIGSEGV inside
      // OpenBLAS's sgemm kernel during exit. A worker has closed its files and its process group by the time run
      // returns, so it ends with _exit after flushing (as the stop handlers do, and as PyTorch's own workers use
      // os._exit); if a worker still dies, the launcher's report carries its last words.
      NativeProcess.exitNow(code);
    }
    System.exit(code);
  }

  /** Whether this process is one worker of a data-parallel run (a launcher set WORLD_SIZE > 1 and RANK). */
  static boolean launchedWorker(Map<String, String> env) {
    try {
      DistEnv d = DistEnv.fromEnv(env, DistEnv.DEFAULT_TIMEOUT);
      return d != null && d.worldSize() > 1;
    } catch (IllegalArgumentException e) {
      return false; // train reported the malformed variables already
    }
  }

  /** The arguments after the command name, as given (for commands that re-parse them). */
  static List<String> currentArgs() {
    return currentArgs;
  }

  static int run(List<String> argv, PrintStream out, PrintStream err) {
    return run(argv, out, err, System.getenv());
  }

  /** {@link #run(List, PrintStream, PrintStream)} with the environment variables the command sees. */
  static int run(List<String> argv, PrintStream out, PrintStream err, Map<String, String> env) {
    List<String> args = new ArrayList<>(argv);
    boolean debug = args.remove("--debug");
    if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h") || args.get(0).equals("help")) {
      out.print(usage());
      return args.isEmpty() ? 2 : 0;
    }
    if (args.get(0).equals("--version")) {
      out.println("vlmr1 " + VERSION);
      return 0;
    }
    Command cmd = COMMANDS.get(args.get(0));
    try {
      if (cmd == null) {
        throw new UsageException("unknown command '" + args.get(0) + "'" + Flags.closest(args.get(0),
            COMMANDS.keySet()).replace("--", ""));
      }
      List<String> rest = args.subList(1, args.size());
      if (rest.contains("--help") || rest.contains("-h")) {
        out.print(commandHelp(cmd));
        return 0;
      }
      rest = ConfigFile.expand(rest);
      currentArgs = List.copyOf(rest);
      Flags flags = Flags.parse(cmd.flags(), rest, err, env);
      flags.rejectPositionalsBeyond(cmd.positionalCount(), cmd.name());
      return cmd.run(flags);
    } catch (UsageException e) {
      err.println("vlmr1: " + e.getMessage());
      return 2;
    } catch (Exception | Error e) {
      if (debug) {
        e.printStackTrace(err);
      }
      err.println("vlmr1: " + (e.getMessage() != null ? e.getMessage().lines().findFirst().orElse("") : e)
          + (debug ? "" : " (--debug for the stack trace)"));
      return 1;
    }
  }

  static String usage() {
    StringBuilder sb = new StringBuilder("usage: vlmr1 <command> [flags]   (vlmr1 <command> --help for its flags)\n\n"
        + "GRPO reinforcement learning for vision-language models on the JVM.\n\ncommands:\n");
    for (Command c : COMMANDS.values()) {
      sb.append(String.format("  %-10s %s%n", c.name(), c.summary()));
    }
    sb.append("\nflags are accepted in snake_case (--max_pixels) and kebab-case (--max-pixels); --config FILE reads "
        + "them from a JSON object or YAML mapping (the command line wins); --debug prints stack traces.\n");
    return sb.toString();
  }

  static String commandHelp(Command c) {
    return "usage: vlmr1 " + c.name() + (c.positionalsUsage().isEmpty() ? "" : " " + c.positionalsUsage())
        + " [flags]\n\n" + c.summary() + "\n\nflags:\n" + Flags.help(c.flags());
  }
}
