// A data-parallel group on PyTorch's own distributed engine as the JavaCPP preset exposes it (JAVACPP-NOTES.md 5):
// rendezvous through a TCPStore served by rank 0, collectives through ProcessGroupGloo (CPU). A peer that dies or never
// arrives fails the collective after the configured timeout; the failure names this rank, the operation and the
// timeout, so every surviving rank exits with a clear error instead of hanging.
package org.vlmr1.distributed;

import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.vlmr1.kernels.TorchRuntime;

/** Gloo over TCP. Create it outside any PointerScope; close it at the end of the run. */
public final class GlooGroup extends TimedGroup {
  private final Store store;
  private final ProcessGroupGloo pg;

  private GlooGroup(DistEnv env, Store store, ProcessGroupGloo pg) {
    super(env);
    this.store = store;
    this.pg = pg;
  }

  /** Joins the group (rank 0 serves the store at MASTER_ADDR:MASTER_PORT); fails after the timeout. */
  public static GlooGroup join(DistEnv env) {
    TorchRuntime.load();
    long ms = env.timeout().toMillis();
    try {
      Store store = store(env);
      ProcessGroupGloo.Options opts = ProcessGroupGloo.Options.create();
      opts.devices().push_back(ProcessGroupGloo.createDeviceForHostname(glooHost(env)));
      opts.timeout(new Milliseconds(ms));
      ProcessGroupGloo pg = new ProcessGroupGloo(store, env.rank(), env.worldSize(), opts);
      return new GlooGroup(env, store, pg);
    } catch (RuntimeException e) {
      throw new DistributedException("rank " + env.rank() + " of " + env.worldSize() + ": the rendezvous at "
          + env.masterAddr() + ":" + env.masterPort() + " failed within the " + env.timeout().toSeconds()
          + " s timeout (a peer never arrived or the port is taken): " + e.getMessage(), e);
    }
  }

  /** The rendezvous store: rank 0 serves it at MASTER_ADDR:MASTER_PORT, the others connect (shared with NCCL). */
  static Store store(DistEnv env) {
    TCPStoreOptions so = new TCPStoreOptions();
    so.port((short) env.masterPort());
    so.isServer(env.rank() == 0);
    so.waitWorkers(false);
    so.useLibUV(false);
    so.timeout(new Milliseconds(env.timeout().toMillis()));
    return new TCPStore(env.masterAddr(), so);
  }

  /** The address Gloo binds: loopback for a run on 127.0.0.1, else this host's own name (what its peers reach). */
  private static String glooHost(DistEnv env) {
    String a = env.masterAddr();
    return a.equals("127.0.0.1") || a.equals("localhost") ? "127.0.0.1" : hostName();
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "127.0.0.1";
    }
  }

  @Override
  public void allReduceSum(Tensor t, String what) {
    timedRun(what, () -> pg.allreduce(new TensorVector(t))._wait());
  }

  @Override
  public Pending allReduceSumAsync(Tensor t, String what) {
    // The tensor, its vector and the work outlive the caller's PointerScope until await(): hold references.
    TensorVector v = new TensorVector(t);
    org.bytedeco.pytorch.Work w = timed(what, () -> pg.allreduce(v));
    t.retainReference();
    v.retainReference();
    w.retainReference();
    return () -> {
      try {
        timedRun(what, () -> w._wait());
      } finally {
        w.releaseReference();
        v.releaseReference();
        t.releaseReference();
      }
    };
  }

  @Override
  public void barrier(String what) {
    timedRun(what, () -> pg.barrier()._wait());
  }

  @Override
  public void close() {
    pg.close();
    store.close();
  }
}
