// bin/vlmr1 doctor: where libtorch and our kernels were loaded from, which backend runs, and a numeric self-check.
package org.vlmr1.cli;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.vlmr1.kernels.CompositeKernels;
import org.vlmr1.kernels.GrpoKernels;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.GrpoLossResult;
import org.vlmr1.kernels.KernelBackend;
import org.vlmr1.kernels.TorchRuntime;

/** Environment report and kernel self-check. */
final class DoctorCommand implements Command {
  @Override
  public String name() {
    return "doctor";
  }

  @Override
  public String summary() {
    return "report the platform, where libtorch and the kernels load from, and self-check the kernels";
  }

  @Override
  public List<FlagSpec> flags() {
    return List.of(FlagSpec.bool("expect_native", "exit 1 unless the native kernels are in use"));
  }

  @Override
  public int run(Flags flags) throws Exception {
    TorchRuntime.load();
    KernelBackend backend = GrpoKernels.backend(); // loads the native library when it can
    System.out.println("platform      " + Loader.getPlatform() + ", Java " + System.getProperty("java.version")
        + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
    System.out.println("javacpp cache " + Loader.getCacheDir());
    for (String lib : new String[] {"libtorch_cpu", "libgomp", "libjniGrpoNative"}) {
      List<Path> paths = TorchRuntime.mappedLibraries(lib);
      System.out.println(String.format("%-13s %s", lib, paths.isEmpty() ? "(not loaded)" : paths));
    }
    System.out.println("kernels       " + GrpoKernels.describeBackend());
    String hint = org.vlmr1.kernels.TorchRuntime.threadEnvHint();
    System.out.println("threads       " + org.bytedeco.pytorch.global.torch.get_num_threads() + " intra-op, "
        + (hint == null ? "OMP_WAIT_POLICY=" + System.getenv("OMP_WAIT_POLICY") : hint));
    double diff = selfCheck();
    boolean ok = diff < 1e-4;
    System.out.printf("self-check    grpoLoss vs composite: max |grad diff| %.3g, %s%n", diff, ok ? "ok" : "MISMATCH");
    if (!ok) {
      return 1;
    }
    if (flags.getBoolean("expect_native") && backend != KernelBackend.NATIVE) {
      System.err.println("vlmr1: the native kernels are not in use");
      return 1;
    }
    return 0;
  }

  /** The facade's loss (whichever backend) against the composite on a small random batch. */
  private static double selfCheck() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(7);
      long b = 2, t = 3, v = 97;
      Tensor logits = torch.randn(b, t, v);
      Tensor ids = torch.randint(v, new long[] {b, t}, new TensorOptions(ScalarType.Long));
      Tensor mask = torch.ones(b, t);
      Tensor adv = torch.randn(b);
      Tensor ref = torch.randn(b, t).sub(new Scalar(5));
      GrpoLossConfig cfg = GrpoLossConfig.builder().build();
      GrpoLossResult a = GrpoKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg);
      GrpoLossResult c = CompositeKernels.grpoLoss(logits, ids, mask, adv, null, ref, cfg, null);
      double lossDiff = Math.abs(a.loss() - c.loss());
      return Math.max(lossDiff, a.gradLogits().sub(c.gradLogits()).abs().max().item_double());
    }
  }
}
