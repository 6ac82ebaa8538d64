// Background image decoding: the images of the step's later micro-batches decode on a small pool while the current
// one generates, so PNG/JPEG decoding overlaps the model's work instead of adding to it. Each distinct file of a
// batch decodes once (the G completions of a prompt share its images). A file that fails to decode fails only its
// examples, each reported with its data line, so the caller applies --on_bad_sample per example.
package org.vlmr1.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Decodes examples' images on daemon threads. Thread-safe; close it to stop the pool. */
public final class ImageDecoder implements AutoCloseable {
  private final ExecutorService pool;

  public ImageDecoder(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("image decoding needs at least one thread");
    }
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "vlmr1-image-decode");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * One example's decoded images, or why they could not be decoded.
   *
   * @param images the example's images in order (empty when {@code failure} is set)
   * @param failure null, or the example's source line, the image file and the decoder's message
   */
  public record Decoded(List<RgbImage> images, String failure) {
    public Decoded {
      images = List.copyOf(images);
    }

    public boolean ok() {
      return failure == null;
    }
  }

  /** Starts decoding the images of {@code examples}; the future yields one {@link Decoded} per example, in order. */
  public Future<List<Decoded>> submit(List<Example> examples) {
    Map<Path, CompletableFuture<Object>> files = new HashMap<>(); // each file's RgbImage, or its failure message
    List<List<CompletableFuture<Object>>> per = new ArrayList<>();
    for (Example e : examples) {
      List<CompletableFuture<Object>> im = new ArrayList<>();
      for (Path p : e.images()) {
        im.add(files.computeIfAbsent(p, q -> CompletableFuture.supplyAsync(() -> read(q), pool)));
      }
      per.add(im);
    }
    return CompletableFuture.allOf(files.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Decoded> out = new ArrayList<>(per.size());
      for (int i = 0; i < per.size(); i++) {
        out.add(decoded(examples.get(i), per.get(i)));
      }
      return out;
    });
  }

  private static Decoded decoded(Example e, List<CompletableFuture<Object>> files) {
    List<RgbImage> images = new ArrayList<>(files.size());
    for (int k = 0; k < files.size(); k++) {
      Object r = files.get(k).join();
      if (r instanceof String why) {
        return new Decoded(List.of(), e.where() + ": image " + e.images().get(k) + " cannot be decoded: " + why);
      }
      images.add((RgbImage) r);
    }
    return new Decoded(images, null);
  }

  /** Waits for a submitted batch. */
  public static List<Decoded> await(Future<List<Decoded>> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while decoding images", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("image decoding failed", e.getCause());
    }
  }

  /**
   * The image, or the message of why it cannot be decoded. ImageIO's decoders throw unchecked exceptions on some
   * corrupt data as well as IOExceptions, and both mean the same to the caller.
   */
  private static Object read(Path p) {
    try {
      return RgbImage.read(p);
    } catch (IOException | RuntimeException ex) {
      return ex.getMessage() != null ? ex.getMessage() : ex.toString();
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
