// --on_bad_sample for an image that passed validation's header check but fails to decode mid-run (corrupt pixel
// data): fail stops the run naming the image file and the example's data line; skip renders the example's rows
// without images so the batch keeps its shape, and the scoring skips their group (RoundScoring).
package org.vlmr1.trainer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.vlmr1.data.ImageDecoder;
import org.vlmr1.data.JsonlDataset.OnBadSample;
import org.vlmr1.data.RgbImage;

/** Applies the policy to a micro-batch's decoded images. */
final class BadImages {
  private BadImages() {}

  /**
   * @param images per row, empty for a failed row
   * @param failed the rows whose images failed to decode
   */
  record Batch(List<List<RgbImage>> images, boolean[] failed) {}

  /**
   * @param step the optimizer step being generated (1-based), for the messages
   * @throws IllegalStateException under FAIL when an image failed, naming it and its data line
   */
  static Batch apply(List<ImageDecoder.Decoded> decoded, OnBadSample policy, int step) {
    List<List<RgbImage>> images = new ArrayList<>(decoded.size());
    boolean[] failed = new boolean[decoded.size()];
    Set<String> reported = new LinkedHashSet<>(); // a prompt's G rows share one message
    for (int i = 0; i < decoded.size(); i++) {
      ImageDecoder.Decoded d = decoded.get(i);
      images.add(d.images());
      if (d.ok()) {
        continue;
      }
      if (policy == OnBadSample.FAIL) {
        throw new IllegalStateException("step " + step + ": " + d.failure() + " (it passed the header check at "
            + "validation; use --on_bad_sample skip to train on without such examples)");
      }
      failed[i] = true;
      if (reported.add(d.failure())) {
        System.err.println("warning: step " + step + ": " + d.failure() + "; its prompt is skipped (--on_bad_sample "
            + "skip: completion mask and advantage 0, left out of the reward means)");
      }
    }
    return new Batch(images, failed);
  }
}
