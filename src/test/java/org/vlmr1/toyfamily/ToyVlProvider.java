// ServiceLoader entry of the toy family (src/test/resources/META-INF/services).
package org.vlmr1.toyfamily;

import java.util.List;
import org.vlmr1.module.FamilyProvider;

/** Toy checkpoints (config.json model_type "toy_vl"). */
public final class ToyVlProvider extends FamilyProvider {
  public ToyVlProvider() {
    super(ToyVlModule.FACTS, List.of("toy_vl"), ToyVlModule::create, (f, t) -> {
      throw new IllegalArgumentException("the toy family has no module rewards");
    });
  }
}
