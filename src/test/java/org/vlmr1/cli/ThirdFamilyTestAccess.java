// Lets the toy family's own tests write a toy checkpoint (ThirdFamilyTest.writeToy is package-private).
package org.vlmr1.cli;

import java.nio.file.Path;

/** Test access to {@link ThirdFamilyTest#writeToy}. */
public final class ThirdFamilyTestAccess {
  private ThirdFamilyTestAccess() {}

  public static void writeToy(Path out, long seed) throws Exception {
    ThirdFamilyTest.writeToy(out, seed);
  }
}
