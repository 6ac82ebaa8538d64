// The benchmark suites bin/vlmr1 bench knows; later issues add preprocess, generate, train and score here.
package org.vlmr1.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/** Registry of benchmark suites by name. */
public final class Suites {
  private static final Map<String, BenchSuite> SUITES = new LinkedHashMap<>();

  static {
    register(new KernelsSuite());
    register(new ScoreSuite());
    register(new PreprocessSuite());
    register(new GenerateSuite());
    register(new TrainSuite());
    register(new ScaleSuite());
  }

  private Suites() {}

  static void register(BenchSuite s) {
    SUITES.put(s.name(), s);
  }

  public static Iterable<String> names() {
    return SUITES.keySet();
  }

  public static BenchSuite get(String name) {
    BenchSuite s = SUITES.get(name);
    if (s == null) {
      throw new IllegalArgumentException("unknown benchmark suite '" + name + "'; known: "
          + String.join(", ", SUITES.keySet()));
    }
    return s;
  }
}
