// The two things about this process that Java itself cannot do, through libc (JNA, already on the class path for
// DJL's tokenizer): set an environment variable that native libraries read when they load (System.getenv is a copy
// taken at JVM start; OpenBLAS and libgomp read the C environment), and end the process without running the native
// libraries' exit handlers (OpenBLAS's joins its worker threads and can wait forever when exit interrupts a
// multi-threaded BLAS call; measured in TorchRuntime's notes).
package org.vlmr1.util;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/** libc's setenv, getenv and _exit, when JNA can load (else each says so and callers fall back). */
public final class NativeProcess {
  private static final Function SETENV;
  private static final Function GETENV;
  private static final Function EXIT;
  private static final String UNAVAILABLE;

  static {
    Function set = null;
    Function get = null;
    Function exit = null;
    String why = null;
    try {
      NativeLibrary c = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME);
      set = c.getFunction("setenv");
      get = c.getFunction("getenv");
      exit = c.getFunction("_exit");
    } catch (LinkageError | RuntimeException e) {
      why = "libc through JNA is unavailable: " + e;
    }
    SETENV = set;
    GETENV = get;
    EXIT = exit;
    UNAVAILABLE = why;
  }

  private NativeProcess() {}

  /** Null when libc's functions are usable, else why not. */
  public static String unavailable() {
    return UNAVAILABLE;
  }

  /** The C environment's value of {@code name} (what a native library reads), or null. */
  public static String getenv(String name) {
    if (GETENV == null) {
      return System.getenv(name);
    }
    return GETENV.invokeString(new Object[] {name}, false);
  }

  /**
   * Sets {@code name} in the C environment unless it is already set there. Not visible to {@link System#getenv}, and
   * only read by libraries that load afterwards. libc's setenv is not thread-safe against a concurrent getenv, so
   * call it before native code runs on other threads.
   *
   * @return true when the variable was set by this call
   */
  public static boolean setenvIfAbsent(String name, String value) {
    if (SETENV == null || getenv(name) != null) {
      return false;
    }
    if (SETENV.invokeInt(new Object[] {name, value, 0}) != 0) {
      throw new IllegalStateException("setenv(" + name + ", " + value + ") failed");
    }
    return true;
  }

  /**
   * Ends the process now with {@code code}: no Java shutdown hooks, no native exit handlers. Falls back to
   * {@link Runtime#halt}, which skips the hooks but still runs the native handlers, when libc is unavailable.
   */
  public static void exitNow(int code) {
    System.out.flush();
    System.err.flush();
    if (EXIT != null) {
      EXIT.invokeVoid(new Object[] {code});
    }
    Runtime.getRuntime().halt(code);
  }
}
