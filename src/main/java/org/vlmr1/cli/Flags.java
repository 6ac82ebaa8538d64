// Command-line parsing shared by every subcommand (CONVENTIONS.md "Command line"): snake_case and kebab-case,
// --flag=value and --flag value, booleans with or without a value, comma- or space-separated lists, VLM-R1 flags that
// mean nothing here accepted with one warning, and unknown flags rejected with the closest known one suggested.
package org.vlmr1.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.vlmr1.util.Json;

/** Parsed flags of one command. */
public final class Flags {
  /** VLM-R1 spellings of flags vlmr1 declares under another name. */
  static final Map<String, String> ALIASES = Map.of("ddp_timeout", "dist_timeout");

  private final Map<String, FlagSpec> specs;
  private final Map<String, List<String>> values = new LinkedHashMap<>();
  private final List<String> positionals = new ArrayList<>();
  /** For each positional, the flag and values it followed ("--save_steps 1"), or "" at the start. */
  private final List<String> positionalContext = new ArrayList<>();
  private final Map<String, String> env;
  private final PrintStream warn;
  private boolean foreign; // a VLM-R1 flag that CompatFlags handled was given

  private Flags(List<FlagSpec> specs, Map<String, String> env, PrintStream warn) {
    this.env = Map.copyOf(env);
    this.warn = warn;
    this.specs = new LinkedHashMap<>();
    for (FlagSpec s : specs) {
      this.specs.put(s.name(), s);
    }
  }

  /** Parses {@code args} against {@code specs}; warnings for ignored VLM-R1 flags go to {@code warn}. */
  public static Flags parse(List<FlagSpec> specs, List<String> args, PrintStream warn) {
    return parse(specs, args, warn, System.getenv());
  }

  /** {@link #parse(List, List, PrintStream)} with the environment the command reads ({@link #env}). */
  public static Flags parse(List<FlagSpec> specs, List<String> args, PrintStream warn, Map<String, String> env) {
    Flags f = new Flags(specs, env, warn);
    String context = "";
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--") || arg.equals("--")) {
        f.positionals.add(arg);
        f.positionalContext.add(context);
        continue;
      }
      int first = i;
      String body = arg.substring(2);
      String inline = null;
      int eq = body.indexOf('=');
      if (eq >= 0) {
        inline = body.substring(eq + 1);
        body = body.substring(0, eq);
      }
      String name = body.replace('-', '_');
      if (!f.specs.containsKey(name) && ALIASES.containsKey(name) && f.specs.containsKey(ALIASES.get(name))) {
        name = ALIASES.get(name);
      }
      FlagSpec spec = f.specs.get(name);
      if (spec == null) {
        if (CompatFlags.knows(name)) {
          String value = inline;
          if (value == null && i + 1 < args.size()
              && !args.get(i + 1).startsWith("--")) {
            value = args.get(++i);
          }
          if (CompatFlags.isBoolean(name)) {
            value = value == null ? "true" : parseBoolean(name, value);
          }
          CompatFlags.apply(name, value, warn);
          f.foreign = true;
          context = String.join(" ", args.subList(first, i + 1));
          continue;
        }
        throw new UsageException("unknown flag --" + Json.shortened(body) + closest(name, f.specs.keySet()));
      }
      List<String> vals = new ArrayList<>();
      switch (spec.kind()) {
        case BOOLEAN:
          if (inline != null) {
            vals.add(parseBoolean(name, inline));
          } else if (i + 1 < args.size() && isBooleanWord(args.get(i + 1))) {
            vals.add(parseBoolean(name, args.get(++i)));
          } else {
            vals.add("true");
          }
          break;
        case VALUE:
          if (inline != null) {
            vals.add(inline);
          } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
            vals.add(args.get(++i));
          } else {
            throw new UsageException("--" + name + " needs a value");
          }
          break;
        case LIST:
          if (inline != null) {
            vals.addAll(splitList(inline));
          }
          while (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
            vals.addAll(splitList(args.get(++i)));
          }
          if (vals.isEmpty()) {
            throw new UsageException("--" + name + " needs at least one value");
          }
          break;
        default:
          throw new IllegalStateException();
      }
      if (spec.kind() == FlagSpec.Kind.LIST && f.values.containsKey(name)) {
        f.values.get(name).addAll(vals); // a repeated list flag accumulates (--image a --image b)
      } else {
        f.values.put(name, vals);
      }
      context = String.join(" ", args.subList(first, i + 1));
    }
    return f;
  }

  /**
   * A usage error naming the first stray word when more than {@code allowed} positional words were given: a scalar
   * flag followed by two values ({@code --save_steps 1 5}) or a word where the command takes none. Without this
   * check the extra words were silently dropped.
   */
  public void rejectPositionalsBeyond(int allowed, String command) {
    if (positionals.size() <= allowed) {
      return;
    }
    String ctx = positionalContext.get(allowed);
    List<String> stray = new ArrayList<>();
    for (int i = allowed; i < positionals.size() && positionalContext.get(i).equals(ctx); i++) {
      stray.add("'" + positionals.get(i) + "'");
    }
    String words = (stray.size() == 1 ? "unexpected word " : "unexpected words ") + String.join(" ", stray);
    if (ctx.isEmpty()) {
      throw new UsageException(words + ": " + command + (allowed == 0 ? " takes no positional arguments"
          : " takes " + allowed + " positional argument(s)") + "; flags start with --");
    }
    String flag = ctx.split(" ", 2)[0].split("=", 2)[0];
    FlagSpec spec = specs.get(flag.substring(2).replace('-', '_'));
    String takes = spec == null ? "" : spec.kind() == FlagSpec.Kind.BOOLEAN
        ? "; " + flag + " is a boolean flag (true/false or nothing)"
        : spec.kind() == FlagSpec.Kind.VALUE ? "; " + flag + " takes one value" : "";
    throw new UsageException(words + " after " + ctx + takes);
  }

  private static List<String> splitList(String s) {
    List<String> out = new ArrayList<>();
    for (String part : s.split(",")) {
      if (!part.isBlank()) {
        out.add(part.trim());
      }
    }
    return out;
  }

  /** Hugging Face's string_to_bool words, any case: yes/no, true/false, t/f, y/n, 1/0. */
  private static final Set<String> TRUE_WORDS = Set.of("yes", "true", "t", "y", "1");
  private static final Set<String> FALSE_WORDS = Set.of("no", "false", "f", "n", "0");

  static boolean isBooleanWord(String s) {
    String l = s.toLowerCase(Locale.ROOT);
    return TRUE_WORDS.contains(l) || FALSE_WORDS.contains(l);
  }

  /** "true" or "false" for a string_to_bool word; a usage error naming the accepted words otherwise. */
  static String parseBoolean(String name, String v) {
    if (!isBooleanWord(v)) {
      throw new UsageException("--" + name + " takes a boolean (yes/no, true/false, t/f, y/n, 1/0), got '" + v + "'");
    }
    return String.valueOf(TRUE_WORDS.contains(v.toLowerCase(Locale.ROOT)));
  }

  /** " (did you mean --x?)" for the known flag nearest in edit distance, or "" when none is near. */
  static String closest(String name, Set<String> known) {
    if (name.length() > 100) {
      return "; see --help"; // no flag is that long, and the edit distances would cost name.length() * each flag
    }
    String best = null;
    int bestDist = Integer.MAX_VALUE;
    for (String k : known) {
      int d = editDistance(name, k);
      if (d < bestDist) {
        bestDist = d;
        best = k;
      }
    }
    return best != null && bestDist <= Math.max(2, name.length() / 3) ? " (did you mean --" + best + "?)"
        : "; see --help";
  }

  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private FlagSpec spec(String name) {
    FlagSpec s = specs.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no flag " + name + " declared");
    }
    return s;
  }

  /** The value given, or the default (null if neither). */
  public String get(String name) {
    List<String> v = values.get(name);
    return v != null ? v.get(0) : spec(name).defaultValue();
  }

  /** The value of a flag, or null when it is unset or this command does not declare it. */
  public String getIfDeclared(String name) {
    return specs.containsKey(name) ? get(name) : null;
  }

  /** Where the command's warnings go (the stream parse warned on: stderr from the launcher). */
  public PrintStream warnings() {
    return warn;
  }

  public boolean has(String name) {
    spec(name);
    return values.containsKey(name);
  }

  /** Whether nothing at all was given: no flag (declared or VLM-R1's) and no positional. */
  public boolean isEmpty() {
    return values.isEmpty() && !foreign && positionals.isEmpty();
  }

  /** The names of the flags given (on the command line or from --config), in order. */
  public java.util.Set<String> given() {
    return java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(values.keySet()));
  }

  public long getLong(String name) {
    String v = get(name);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " takes an integer, got '" + v + "'");
    }
  }

  public boolean getBoolean(String name) {
    return Boolean.parseBoolean(get(name));
  }

  public int getInt(String name) {
    String v = get(name);
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " takes an integer, got '" + v + "'");
    }
  }

  /** A list flag's values as numbers, with {@link #getDouble}'s usage error for a word that is not one. */
  public double[] getDoubles(String name) {
    List<String> vs = getList(name);
    double[] out = new double[vs.size()];
    for (int i = 0; i < out.length; i++) {
      try {
        out[i] = Double.parseDouble(vs.get(i));
      } catch (NumberFormatException e) {
        throw new UsageException("--" + name + " takes numbers, got '" + vs.get(i) + "'");
      }
    }
    return out;
  }

  public double getDouble(String name) {
    String v = get(name);
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " takes a number, got '" + v + "'");
    }
  }

  /**
   * An enum flag's value, matched to a constant's name in any case with '-' read as '_'; a usage error naming the
   * flag, the value given and the accepted values otherwise. Every enum flag goes through here or
   * {@link #getChoice}.
   */
  public <E extends Enum<E>> E getEnum(String name, Class<E> type) {
    return getChoice(name, type, v -> {
      String key = v.trim().replace('-', '_');
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(key)) {
          return e;
        }
      }
      throw new IllegalArgumentException(v);
    });
  }

  /**
   * An enum flag read by the enum's own parser (for extra spellings such as scale_rewards' true/false); the parser's
   * IllegalArgumentException becomes a usage error listing the constants in lower case.
   */
  public <E extends Enum<E>> E getChoice(String name, Class<E> type, java.util.function.Function<String, E> parser) {
    String v = get(name);
    if (v == null) {
      return null;
    }
    try {
      return parser.apply(v);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--" + name + " takes " + accepted(type) + ", got '" + v + "'");
    }
  }

  /** "a, b or c": the lower-case names of an enum's constants. */
  static String accepted(Class<? extends Enum<?>> type) {
    List<String> names = Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList();
    return names.size() == 1 ? names.get(0) : String.join(", ", names.subList(0, names.size() - 1)) + " or "
        + names.get(names.size() - 1);
  }

  public List<String> getList(String name) {
    List<String> v = values.get(name);
    if (v != null) {
      return List.copyOf(v);
    }
    String d = spec(name).defaultValue();
    return d == null ? List.of() : splitList(d);
  }

  /** The environment the command reads (the process's, or a test's). */
  public Map<String, String> env() {
    return env;
  }

  public List<String> positionals() {
    return List.copyOf(positionals);
  }

  /** The help text of a flag list, one flag per line with its default. */
  public static String help(List<FlagSpec> specs) {
    StringBuilder sb = new StringBuilder();
    for (FlagSpec s : specs) {
      String left = "  --" + s.name() + (s.kind() == FlagSpec.Kind.BOOLEAN ? "" : s.kind() == FlagSpec.Kind.LIST
          ? " A[,B...]" : " VALUE");
      sb.append(String.format("%-34s %s", left, s.help()));
      if (s.defaultValue() != null && s.kind() != FlagSpec.Kind.BOOLEAN) {
        sb.append(" (default: ").append(s.defaultValue()).append(')');
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return values.toString() + " " + Arrays.toString(positionals.toArray());
  }
}
