// A process that sits inside long libtorch matrix products (OpenBLAS's threaded sgemm) until a signal stops it: the
// moment at which the JVM's exit used to hang in OpenBLAS's exit handler. Run by StopSignalsTest in its own JVM.
package org.vlmr1.cli;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.vlmr1.kernels.TorchRuntime;
import org.vlmr1.util.StopSignals;

final class MatmulUntilStopped {
  private MatmulUntilStopped() {}

  /** Args: the matrix side, then {@code cli} (stop handlers installed, as bin/vlmr1's Main) or {@code embedded}. */
  public static void main(String[] args) {
    if (args[1].equals("cli")) {
      StopSignals.install();
    }
    TorchRuntime.load();
    int n = Integer.parseInt(args[0]);
    Tensor a = torch.randn(n, n);
    Tensor b = torch.randn(n, n);
    System.out.println("ready");
    System.out.flush();
    while (true) {
      torch.mm(a, b).close();
    }
  }
}
