// How a data-parallel worker process ends. System.exit runs the C library's exit(), whose teardown of libtorch's and
// Gloo's static objects can race with the threads still alive in a worker (Gloo's event loop waking on the sockets its
// peers close as they exit, JavaCPP's deallocator thread freeing tensors the garbage collector released). Launched
// workers died with SIGABRT (exit 134) 3 times in about 20 full test runs, under load; about 140 launched runs here
// (330 workers) did not reproduce it, and the native kernels run clean under AddressSanitizer, so the teardown race is
// the suspect, not a proven cause. The same kind of race was seen directly once: a JVM stopped by SIGTERM while its
// main thread sat in a libtorch matrix product (StopSignalsTest's embedded case) crashed with SIGSEGV inside OpenBLAS's
// sgemm kernel during exit (its crash log: 1.76 s after start, the main thread in native code). A worker has closed its
// files and its process group by the time it returns, so it ends with _exit after flushing instead, as PyTorch's own
// worker processes do (os._exit); if a worker still dies, the launcher's report carries its last words. Other commands
// keep System.exit (their shutdown hooks still run).
package org.vlmr1.kernels;

/** Ends the process. */
public final class ProcessExit {
  private ProcessExit() {}

  /**
   * Flushes System.out and System.err and ends the process with {@code code}: at once, without exit()'s teardown,
   * when {@code skipTeardown} and the native library is loaded, else through {@link System#exit}.
   */
  public static void exit(int code, boolean skipTeardown) {
    System.out.flush();
    System.err.flush();
    if (skipTeardown && GrpoKernels.backend() == KernelBackend.NATIVE) {
      GrpoNative.exit_process(code);
    }
    System.exit(code);
  }
}
