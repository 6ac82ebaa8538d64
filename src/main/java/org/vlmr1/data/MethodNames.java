// The accu_reward_method names a scorer knows, handed to the dataset loader so it can list a data line's unknown
// method once at load time without the data layer knowing the rewards (the train command passes AccuracyMethod's).
package org.vlmr1.data;

import java.util.List;
import java.util.function.Predicate;

/**
 * @param known whether a method value names a method (null and absent values are "default")
 * @param names every known name, for messages
 */
public record MethodNames(Predicate<String> known, List<String> names) {
  public MethodNames {
    names = List.copyOf(names);
  }
}
