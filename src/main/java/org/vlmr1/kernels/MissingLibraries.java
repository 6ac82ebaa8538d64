// Why the pytorch preset's -gpu build can be loaded and still have no CUDA: JavaCPP loads libtorch_cpu from the -gpu
// jar, and libtorch_cuda, the CUDA half, only when the system has every CUDA library it links (cuBLAS, cuDNN, NCCL,
// ...; JavaCPP's CUDA redistributable for 13.1 is not on Maven Central). A failed load is silent, so doctor names what
// the dynamic linker could not find.
package org.vlmr1.kernels;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The libraries a shared object needs that the dynamic linker cannot find, as {@code ldd} reports them. */
public final class MissingLibraries {
  private MissingLibraries() {}

  /**
   * The sonames {@code ldd} reports as "not found" for {@code library} (its dependencies' too), in ldd's order.
   *
   * @return the missing names (an empty list: none), or an empty Optional when ldd cannot run or fails on the file
   */
  public static Optional<List<String>> of(Path library) {
    try {
      Process p = new ProcessBuilder("ldd", library.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      return p.exitValue() == 0 ? Optional.of(notFound(out)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty(); // no ldd on this machine
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** The names on ldd's "NAME => not found" lines. */
  static List<String> notFound(String lddOutput) {
    List<String> names = new ArrayList<>();
    for (String line : lddOutput.split("\n")) {
      String s = line.strip();
      if (s.endsWith("=> not found")) {
        String name = s.substring(0, s.indexOf("=>")).strip();
        if (!names.contains(name)) {
          names.add(name);
        }
      }
    }
    return names;
  }

  /**
   * Why libtorch has no CUDA: the CPU flavour, or the -gpu build whose libtorch_cuda.so (beside {@code libtorchCpu},
   * in the JavaCPP cache) could not load, with what it lacks.
   *
   * @param libtorchCpu the libtorch_cpu.so this process mapped ({@link #loadedLibtorchCpu}), or null when unknown
   */
  public static String noCudaReason(Path libtorchCpu) {
    Path folder = libtorchCpu == null ? null : libtorchCpu.getParent();
    if (folder == null || !folder.getFileName().toString().endsWith("-gpu")) {
      return "this libtorch build has no CUDA (CPU natives of the pytorch preset)";
    }
    Path cuda = folder.resolve("libtorch_cuda.so");
    String head = "the pytorch -gpu build is loaded, but not its CUDA part (" + cuda.getFileName() + ")";
    return head + of(cuda).map(missing -> missing.isEmpty() ? "" : ": the system lacks " + String.join(", ", missing))
        .orElse(": ldd " + cuda + " names what it lacks");
  }

  /** The libtorch_cpu.so this process mapped, or null (not loaded, or not Linux). */
  public static Path loadedLibtorchCpu() {
    return TorchRuntime.mappedLibraries("libtorch_cpu").stream().findFirst().orElse(null);
  }
}
