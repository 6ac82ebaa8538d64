// The header check of a dataset's images at validation (ImageHeader), each distinct file once, on several threads:
// the reads are small and mostly wait on the disk, so a large dataset is checked in seconds rather than minutes.
package org.vlmr1.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Checks many image files' headers. */
final class ImageHeaders {
  /** Threads for the checks: enough to keep a network or spinning disk busy; the work itself is tiny. */
  private static final int THREADS = 8;

  private ImageHeaders() {}

  /** What is wrong with each bad file among {@code files} (good files are absent). */
  static Map<Path, String> check(List<Path> files) {
    List<Path> distinct = new ArrayList<>(new LinkedHashSet<>(files));
    Map<Path, String> bad = new ConcurrentHashMap<>();
    if (distinct.isEmpty()) {
      return bad;
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(THREADS, distinct.size()), r -> {
      Thread t = new Thread(r, "vlmr1-image-header");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> jobs = new ArrayList<>();
      int chunk = Math.max(1, distinct.size() / (THREADS * 4));
      for (int i = 0; i < distinct.size(); i += chunk) {
        List<Path> part = distinct.subList(i, Math.min(distinct.size(), i + chunk));
        jobs.add(pool.submit(() -> part.forEach(p -> checkOne(p, bad))));
      }
      for (Future<?> j : jobs) {
        j.get();
      }
      return bad;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking image headers", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("checking image headers failed", e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  private static void checkOne(Path p, Map<Path, String> bad) {
    try {
      ImageHeader.check(p);
    } catch (IOException e) {
      bad.put(p, e.getMessage());
    }
  }
}
