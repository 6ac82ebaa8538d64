// The GRPO kernels for tensors on libtorch's lazy device in the placement tests: the lazy TorchScript backend cannot
// run the composite loss's backward (it infers shapes with meta kernels, and libtorch's C++ build has none for
// logical_and.out), so this provider checks that every tensor the trainer hands the kernels lies on that device, runs
// the real composites on host copies, and returns their tensors on the device, as a CUDA provider returns CUDA ones.
package org.vlmr1.trainer;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.vlmr1.kernels.GrpoHiddenLossResult;
import org.vlmr1.kernels.GrpoLossConfig;
import org.vlmr1.kernels.GrpoLossResult;
import org.vlmr1.kernels.KernelProvider;
import org.vlmr1.kernels.KernelProviders;
import org.vlmr1.kernels.ScaleRewards;
import org.vlmr1.kernels.TokenLogProbs;
import org.vlmr1.kernels.Devices;

/** The composites, run on the host for tensors that must all lie on one device. */
final class HostCompositeProvider implements KernelProvider {
  private final Device device;

  HostCompositeProvider(Device device) {
    this.device = device;
  }

  /** {@code t} on the host, after checking it lies on the device (null stays null). */
  private Tensor in(String name, Tensor t) {
    if (t == null) {
      return null;
    }
    if (!Devices.on(t, device)) {
      throw new IllegalArgumentException(name + " is on " + Devices.name(t.device()) + ", not on "
          + Devices.name(device) + ": the trainer left it off the model's device");
    }
    return t.cpu();
  }

  private Tensor out(Tensor t) {
    return t == null || !t.defined() ? t : t.to(device, t.scalar_type());
  }

  @Override
  public String describe() {
    return "libtorch composite on host copies of " + Devices.name(device) + " tensors (test)";
  }

  @Override
  public Tensor sampleDraw(Tensor w, Tensor u) {
    return out(KernelProviders.COMPOSITE.sampleDraw(in("w", w), in("u", u)));
  }

  @Override
  public Tensor topPFilter(Tensor w, double topP) {
    return out(KernelProviders.COMPOSITE.topPFilter(in("w", w), topP));
  }

  @Override
  public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
    TokenLogProbs r = KernelProviders.COMPOSITE.tokenLogProbs(in("logits", logits), in("targets", targets),
        temperature, withEntropy);
    return new TokenLogProbs(out(r.logProbs()), out(r.entropy()));
  }

  @Override
  public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
    return out(KernelProviders.COMPOSITE.groupAdvantages(in("rewards", rewards), groupSize, scale));
  }

  @Override
  public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
      GrpoLossConfig cfg, Tensor gradOut) {
    GrpoLossResult r = KernelProviders.COMPOSITE.grpoLoss(in("logits", logits), in("ids", ids), in("mask", mask),
        in("advantages", adv), in("old log-probs", old), in("reference log-probs", ref), cfg, null);
    return new GrpoLossResult(r.loss(), out(r.gradLogits()), out(r.perTokenLogps()), r.metrics());
  }

  @Override
  public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids, Tensor mask,
      Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
    GrpoHiddenLossResult r = KernelProviders.COMPOSITE.grpoLossFromHidden(in("hidden", hidden),
        in("lm head", lmHeadWeight), in("ids", ids), in("mask", mask), in("advantages", adv),
        in("old log-probs", old), in("reference log-probs", ref), cfg, chunkRows);
    return new GrpoHiddenLossResult(r.loss(), out(r.gradHidden()), out(r.gradWeight()), out(r.perTokenLogps()),
        r.metrics());
  }
}
