// The device seam of the kernels: GrpoKernels dispatches by the tensors' device type. A provider registered for
// libtorch's meta device (tensors with shapes and no data) receives the validated calls; CPU tensors keep their
// provider; operands on two devices are refused by name. Before, every non-CPU tensor was rejected.
package org.vlmr1.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KernelProvidersTest {
  @BeforeAll
  static void load() {
    TorchRuntime.load();
  }

  /** Records each call and answers with meta tensors of the right shapes. */
  static final class MetaProvider implements KernelProvider {
    final List<String> calls = new ArrayList<>();

    @Override
    public String describe() {
      return "meta recorder";
    }

    @Override
    public TokenLogProbs tokenLogProbs(Tensor logits, Tensor targets, double temperature, boolean withEntropy) {
      calls.add("tokenLogProbs " + KernelProviders.deviceType(logits) + " " + KernelProviders.deviceType(targets));
      return new TokenLogProbs(meta(logits.size(0)), null);
    }

    @Override
    public Tensor groupAdvantages(Tensor rewards, int groupSize, ScaleRewards scale) {
      calls.add("groupAdvantages " + KernelProviders.deviceType(rewards));
      return meta(rewards.size(0));
    }

    @Override
    public GrpoLossResult grpoLoss(Tensor logits, Tensor ids, Tensor mask, Tensor adv, Tensor old, Tensor ref,
        GrpoLossConfig cfg, Tensor gradOut) {
      calls.add("grpoLoss");
      return null;
    }

    @Override
    public GrpoHiddenLossResult grpoLossFromHidden(Tensor hidden, Tensor lmHeadWeight, Tensor ids, Tensor mask,
        Tensor adv, Tensor old, Tensor ref, GrpoLossConfig cfg, int chunkRows) {
      calls.add("grpoLossFromHidden " + KernelProviders.deviceType(mask));
      return null;
    }
  }

  static Tensor meta(long... shape) {
    return torch.empty(shape, new TensorOptions(ScalarType.Float).device(new DeviceOptional(new Device("meta"))),
        null);
  }

  @Test
  void dispatchFollowsTheTensorsDevice() {
    MetaProvider meta = new MetaProvider();
    KernelProvider previous = KernelProviders.register("meta", meta);
    try (PointerScope s = new PointerScope()) {
      Tensor logits = meta(3, 5);
      Tensor targets = torch.empty(new long[] {3},
          new TensorOptions(ScalarType.Long).device(new DeviceOptional(new Device("meta"))), null);
      assertEquals(3, GrpoKernels.tokenLogProbs(logits, targets, 1.0, false).logProbs().size(0));
      GrpoKernels.groupAdvantages(meta(4), 2, ScaleRewards.GROUP);
      Tensor hidden = meta(2, 3, 4);
      Tensor ids = torch.empty(new long[] {2, 3},
          new TensorOptions(ScalarType.Long).device(new DeviceOptional(new Device("meta"))), null);
      GrpoKernels.grpoLossFromHidden(hidden, meta(5, 4), ids, meta(2, 3), meta(2), null, null,
          GrpoLossConfig.builder().beta(0).build(), 8);
      assertEquals(List.of("tokenLogProbs meta meta", "groupAdvantages meta", "grpoLossFromHidden meta"), meta.calls);
      assertNotSame(meta, KernelProviders.forTensor(torch.zeros(1)), "CPU tensors keep the CPU provider");
      assertSame(meta, KernelProviders.forTensor(logits));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> GrpoKernels.tokenLogProbs(logits, torch.zeros(3).to(ScalarType.Long), 1.0, false));
      assertTrue(e.getMessage().contains("targets is on cpu") && e.getMessage().contains("meta"), e.getMessage());
    } finally {
      KernelProviders.register("meta", previous);
    }
  }
}
