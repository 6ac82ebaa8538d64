// ServiceLoader entry of the Qwen family.
package org.vlmr1.module.qwen;

import java.util.List;
import org.vlmr1.module.FamilyProvider;

/** Qwen2-VL and Qwen2.5-VL checkpoints. */
public final class QwenModuleProvider extends FamilyProvider {
  public QwenModuleProvider() {
    super(QwenModule.FACTS, List.of("qwen2_vl", "qwen2_5_vl"), QwenModule::create, QwenModule::rewardFor);
  }
}
