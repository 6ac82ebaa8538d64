// ServiceLoader entry of the InternVL family.
package org.vlmr1.module.internvl;

import java.util.List;
import org.vlmr1.module.FamilyProvider;

/** InternVL2.5 / InternVL3 checkpoints (remote-code InternVLChatModel layout). */
public final class InternVlModuleProvider extends FamilyProvider {
  public InternVlModuleProvider() {
    super(InternVlModule.FACTS, List.of("internvl_chat"), InternVlModule::create, InternVlModule::rewardFor);
  }
}
