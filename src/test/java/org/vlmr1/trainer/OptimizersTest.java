// AdamW from Optimizers against torch's AdamW written out in double arithmetic: three steps with different gradients,
// which (unlike one step) tell beta1 and beta2 apart.
package org.vlmr1.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vlmr1.kernels.TorchRuntime;

class OptimizersTest {
  static final double LR = 0.05;
  static final double BETA1 = 0.8;
  static final double BETA2 = 0.95;
  static final double EPS = 1e-8;
  static final double WD = 0.1;

  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  @Test
  void threeStepsMatchTorchAdamW() {
    String fixed = System.getProperty("vlmr1.test.seed");
    long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() & 0xffffffffL;
    System.out.println("OptimizersTest: seed " + seed + " (replay with -Dvlmr1.test.seed=" + seed + ")");
    Random rnd = new Random(seed);
    int n = 16;
    float[] init = new float[n];
    for (int i = 0; i < n; i++) {
      init[i] = (float) rnd.nextGaussian();
    }
    float[][] grads = new float[3][n];
    for (float[] g : grads) {
      for (int i = 0; i < n; i++) {
        g[i] = (float) (rnd.nextGaussian() * (0.1 + 2 * rnd.nextDouble()));
      }
    }
    double[] want = reference(init, grads);

    Tensor p = torch.tensor(init.clone()).requires_grad_(true);
    TensorVector params = new TensorVector();
    params.push_back(p);
    AdamW opt = Optimizers.adamW(params, LR, BETA1, BETA2, EPS, WD);
    for (float[] g : grads) {
      opt.zero_grad();
      p.mutable_grad().put(torch.tensor(g.clone()));
      opt.step();
    }
    float[] got = new float[n];
    p.detach().contiguous().data_ptr_float().get(got);
    double max = 0;
    int worst = 0;
    for (int i = 0; i < n; i++) {
      double d = Math.abs(got[i] - want[i]);
      if (d > max) {
        max = d;
        worst = i;
      }
    }
    // float32 state against a double reference: a few ulps of values near 1. Swapped betas move them by ~1e-2.
    assertTrue(max < 2e-6, "max |diff| " + max + " at " + worst + ": got " + got[worst] + ", want " + want[worst]);
  }

  /** torch.optim.AdamW (amsgrad off), one tensor, in double precision. */
  static double[] reference(float[] init, float[][] grads) {
    int n = init.length;
    double[] p = new double[n];
    double[] m = new double[n];
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      p[i] = init[i];
    }
    for (int t = 1; t <= grads.length; t++) {
      double bc1 = 1 - Math.pow(BETA1, t);
      double bc2 = 1 - Math.pow(BETA2, t);
      double stepSize = LR / bc1;
      for (int i = 0; i < n; i++) {
        double g = grads[t - 1][i];
        p[i] *= 1 - LR * WD;
        m[i] = BETA1 * m[i] + (1 - BETA1) * g;
        v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
        double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS;
        p[i] -= stepSize * m[i] / denom;
      }
    }
    return p;
  }
}
