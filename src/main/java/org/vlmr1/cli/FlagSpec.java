// One command-line flag: its canonical snake_case name (VLM-R1's spelling), kind, default and help text.
package org.vlmr1.cli;

/**
 * @param name snake_case name without dashes ({@code max_pixels}); the kebab-case spelling is accepted too
 * @param kind how values are read
 * @param defaultValue the value when absent (null: no default)
 * @param help one line for {@code --help}
 */
public record FlagSpec(String name, Kind kind, String defaultValue, String help) {
  /** How a flag takes its value. */
  public enum Kind {
    /** {@code --flag}, or {@code --flag true|false|True|False}. */
    BOOLEAN,
    /** {@code --flag value} or {@code --flag=value}. */
    VALUE,
    /** {@code --flag a,b} or {@code --flag a b} (VLM-R1 scripts pass space-separated lists). */
    LIST
  }

  public FlagSpec {
    if (name == null || name.isEmpty() || name.startsWith("-") || name.contains("-")) {
      throw new IllegalArgumentException("flag names are snake_case without dashes: " + name);
    }
    if (kind == null) {
      throw new IllegalArgumentException("flag " + name + " needs a kind");
    }
  }

  public static FlagSpec bool(String name, String help) {
    return new FlagSpec(name, Kind.BOOLEAN, "false", help);
  }

  public static FlagSpec value(String name, String defaultValue, String help) {
    return new FlagSpec(name, Kind.VALUE, defaultValue, help);
  }

  public static FlagSpec list(String name, String defaultValue, String help) {
    return new FlagSpec(name, Kind.LIST, defaultValue, help);
  }
}
