// Where a worker sits in a data-parallel run, read from torchrun's environment variables (RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so any launcher that sets them (bin/vlmr1 train
// --nproc_per_node, torchrun-style scripts, Slurm srun, Kubernetes) starts workers the same way.
package org.vlmr1.distributed;

import java.time.Duration;
import java.util.Map;

/**
 * A worker's coordinates; validated at construction.
 *
 * @param timeout how long a collective (or the rendezvous) waits for a peer before the run fails
 */
public record DistEnv(int rank, int localRank, int worldSize, String masterAddr, int masterPort, Duration timeout) {
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

  public DistEnv {
    if (worldSize < 1 || rank < 0 || rank >= worldSize || localRank < 0) {
      throw new IllegalArgumentException("RANK " + rank + " / LOCAL_RANK " + localRank + " / WORLD_SIZE " + worldSize
          + " do not describe a worker (0 <= RANK < WORLD_SIZE)");
    }
    if (masterPort < 1 || masterPort > 65535) {
      throw new IllegalArgumentException("MASTER_PORT " + masterPort + " is not a TCP port");
    }
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("the distributed timeout must be positive");
    }
  }

  /** A single process (no environment needed). */
  public static DistEnv single() {
    return new DistEnv(0, 0, 1, "127.0.0.1", 29500, DEFAULT_TIMEOUT);
  }

  /**
   * The environment's worker, or null when WORLD_SIZE is absent (a plain single-process run).
   *
   * @param timeout the collective timeout to use
   */
  public static DistEnv fromEnv(Map<String, String> env, Duration timeout) {
    String world = env.get("WORLD_SIZE");
    if (world == null) {
      return null;
    }
    int w = parse(env, "WORLD_SIZE");
    int rank = env.containsKey("RANK") ? parse(env, "RANK") : -1;
    if (rank < 0) {
      throw new IllegalArgumentException("WORLD_SIZE is set but RANK is not: a launcher must set both");
    }
    int local = env.containsKey("LOCAL_RANK") ? parse(env, "LOCAL_RANK") : rank;
    String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
    int port = env.containsKey("MASTER_PORT") ? parse(env, "MASTER_PORT") : 29500;
    return new DistEnv(rank, local, w, addr, port, timeout);
  }

  private static int parse(Map<String, String> env, String key) {
    try {
      return Integer.parseInt(env.get(key).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + "='" + env.get(key) + "' is not an integer");
    }
  }

  public boolean isMain() {
    return rank == 0;
  }
}
