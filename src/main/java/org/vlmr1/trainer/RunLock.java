// One training run per output folder: an exclusive OS lock on <output_dir>/.vlmr1.lock, held for the whole run. The OS
// drops it when the process dies, so a killed run leaves no stale lock; the file stays (deleting it would let two runs
// lock two different files of the same name) and holds the pid of the last run that locked it.
package org.vlmr1.trainer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The lock of one run folder; close it (or let the process end) to release it. */
public final class RunLock implements AutoCloseable {
  public static final String FILE = ".vlmr1.lock";

  /**
   * The folders this JVM holds. Linux locks (fcntl) belong to the process, not the channel, and closing any channel
   * on the file releases them all: a second acquire in this JVM must be refused before it opens the file.
   */
  private static final Map<Path, RunLock> HELD = new ConcurrentHashMap<>();

  private final Path key;
  private final FileChannel channel;
  private final FileLock lock;

  private RunLock(Path key, FileChannel channel, FileLock lock) {
    this.key = key;
    this.channel = channel;
    this.lock = lock;
  }

  /** Thrown when another process (or another run in this JVM) holds the folder. */
  public static final class HeldException extends IOException {
    HeldException(String message) {
      super(message);
    }
  }

  /**
   * Creates {@code dir} if needed and locks it, writing this process's pid into the lock file.
   *
   * @throws HeldException naming the holder's pid when another run holds it
   */
  public static RunLock acquire(Path dir) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IOException("--output_dir " + dir + " is a file, not a folder");
    }
    Files.createDirectories(dir);
    Path key = dir.toRealPath();
    Path file = key.resolve(FILE);
    synchronized (HELD) {
      if (HELD.containsKey(key)) {
        throw held(dir, file, ProcessHandle.current().pid() + ", this process");
      }
      FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      if (lock == null) {
        ch.close(); // this process held no lock on the file, so closing releases nothing
        throw held(dir, file, holderPid(file));
      }
      // Written through the locked channel: opening the file a second time and closing it would drop the lock.
      byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(pid), 0);
      ch.force(false);
      RunLock l = new RunLock(key, ch, lock);
      HELD.put(key, l);
      return l;
    }
  }

  private static HeldException held(Path dir, Path file, String pid) {
    return new HeldException("--output_dir " + dir + " is in use by another train run (pid " + pid + "; it holds "
        + file + "): wait for it to end, stop it, or choose another --output_dir");
  }

  /** The pid the holder wrote, or "unknown" while it has not written it yet. */
  private static String holderPid(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.US_ASCII).trim();
      return s.matches("\\d+") ? s : "unknown";
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public void close() throws IOException {
    synchronized (HELD) {
      HELD.remove(key, this);
      try {
        lock.release();
      } finally {
        channel.close();
      }
    }
  }
}
