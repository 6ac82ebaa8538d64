// The one rule by which a family of native kernels is chosen (GrpoKernels, ImageKernels): -Dvlmr1.kernels=auto (load
// the JavaCPP peer class, fall back to the Java/libtorch reference with one warning), native (fail when it cannot
// load) or composite (the reference, forced).
package org.vlmr1.kernels;

import java.util.Locale;

/** Loads a JavaCPP peer class and decides the backend of its kernels. */
final class NativeLibraries {
  private static final System.Logger LOG = System.getLogger(NativeLibraries.class.getName());

  private NativeLibraries() {}

  /** The backend and, when it is not native, why. */
  record Choice(KernelBackend backend, String reason) {}

  /**
   * @param peerClass the JavaCPP class whose static initialiser loads the library (e.g. org.vlmr1.kernels.GrpoNative)
   * @param what the kernels' name in messages ("native kernels", "native image kernels")
   * @param fallback what runs without them, for the warning
   */
  static Choice choose(String peerClass, String what, String fallback) {
    return choose(peerClass, what, fallback, true);
  }

  /** {@link #choose(String, String, String)}; {@code warn} false leaves saying what was chosen to the caller. */
  static Choice choose(String peerClass, String what, String fallback, boolean warn) {
    String mode = System.getProperty("vlmr1.kernels", "auto").trim().toLowerCase(Locale.ROOT);
    if (!mode.equals("auto") && !mode.equals("native") && !mode.equals("composite")) {
      throw new IllegalArgumentException("vlmr1.kernels must be auto, native or composite, got '" + mode + "'");
    }
    if (mode.equals("composite")) {
      return new Choice(KernelBackend.COMPOSITE, "forced by -Dvlmr1.kernels=composite");
    }
    try {
      Class.forName(peerClass, true, NativeLibraries.class.getClassLoader());
      return new Choice(KernelBackend.NATIVE, null);
    } catch (Throwable t) {
      Throwable cause = t.getCause() != null ? t.getCause() : t;
      if (mode.equals("native")) {
        throw new IllegalStateException("the " + what + " cannot load (-Dvlmr1.kernels=native): " + cause, cause);
      }
      if (warn) {
        LOG.log(System.Logger.Level.WARNING, "vlmr1 " + what + " unavailable on " + System.getProperty("os.name")
            + "/" + System.getProperty("os.arch") + " (" + cause + "); " + fallback);
      }
      return new Choice(KernelBackend.COMPOSITE, what + " unavailable: " + cause);
    }
  }
}
