// The data-validation flags that train and sft share (the loader's errors recommend them, so every command that
// loads VLM-R1 data takes them), and the loader spec they build.
package org.vlmr1.cli;

import org.vlmr1.data.JsonlDataset.OnBadSample;

/** --on_bad_sample and --allow_image_paths_outside_folders. */
final class DataFlags {
  private DataFlags() {}

  static final FlagSpec ON_BAD_SAMPLE = onBadSample("skips its prompt: completion mask and advantage 0, counted as "
      + "skipped_prompts");
  /** sft has no prompts to skip: its step trains on without the row. */
  static final FlagSpec ON_BAD_SAMPLE_SFT = onBadSample("leaves its row out of that step's loss");
  static final FlagSpec ALLOW_OUTSIDE = FlagSpec.bool("allow_image_paths_outside_folders", "accept image paths "
      + "outside their image folder");

  private static FlagSpec onBadSample(String midRun) {
    return FlagSpec.value("on_bad_sample", "fail", "a bad data line or image: fail (stop, naming the file and line) "
        + "or skip (drop the line at validation; an image that fails to decode mid-run " + midRun + ")");
  }

  /** The --on_bad_sample value (a usage error lists the accepted ones). */
  static OnBadSample onBadSample(Flags f) {
    return f.getEnum(ON_BAD_SAMPLE.name(), OnBadSample.class);
  }
}
