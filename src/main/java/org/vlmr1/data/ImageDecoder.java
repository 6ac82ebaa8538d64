// Background image decoding: the images of the step's later micro-batches decode on a small pool while the current
// one generates, so PNG/JPEG decoding overlaps the model's work instead of adding to it. Each distinct file of a
// batch decodes once (the G completions of a prompt share its images).
package org.vlmr1.data;

import java.io.IOException;
import java.io.UncheckedIOException;
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

  /** Starts decoding the images of {@code examples}; the future yields them per example, in order. */
  public Future<List<List<RgbImage>>> submit(List<Example> examples) {
    Map<Path, CompletableFuture<RgbImage>> files = new HashMap<>();
    List<List<CompletableFuture<RgbImage>>> per = new ArrayList<>();
    for (Example e : examples) {
      List<CompletableFuture<RgbImage>> im = new ArrayList<>();
      for (Path p : e.images()) {
        im.add(files.computeIfAbsent(p, q -> CompletableFuture.supplyAsync(() -> read(e, q), pool)));
      }
      per.add(im);
    }
    return CompletableFuture.allOf(files.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<List<RgbImage>> out = new ArrayList<>(per.size());
      for (List<CompletableFuture<RgbImage>> im : per) {
        out.add(im.stream().map(CompletableFuture::join).toList());
      }
      return out;
    });
  }

  /** Waits for a submitted batch; a decoding failure comes back as the UncheckedIOException naming the example. */
  public static List<List<RgbImage>> await(Future<List<List<RgbImage>>> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while decoding images", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
        c = c.getCause();
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(c);
    }
  }

  private static RgbImage read(Example e, Path p) {
    try {
      return RgbImage.read(p);
    } catch (IOException ex) {
      throw new UncheckedIOException("example " + e.id() + ": " + ex.getMessage(), ex);
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
