// Runs bin/vlmr1's entry point in the test JVM from other packages' tests (stdout kept, stderr printed).
package org.vlmr1.cli;

import java.util.List;

/** Test access to {@link Main#run}. */
public final class MainAccess {
  private MainAccess() {}

  public static int run(String... args) {
    return Main.run(List.of(args), System.out, System.err);
  }
}
