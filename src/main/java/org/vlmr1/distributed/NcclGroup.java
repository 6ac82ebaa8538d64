// The CUDA transport: ProcessGroupNCCL from the preset's -gpu build, one device per local rank (--device cuda places
// the rank's model on cuda:LOCAL_RANK). Gradients on that device are reduced in place; host tensors (metrics, flags)
// are staged through it. Wired and compiled here; it needs the pytorch -gpu natives and a CUDA device to run (not
// checked on this CPU-only machine).
package org.vlmr1.distributed;

import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;
import org.vlmr1.kernels.TorchRuntime;

/** NCCL over the node's GPUs (and the network between nodes). */
public final class NcclGroup extends TimedGroup {
  private final Store store;
  private final ProcessGroupNCCL pg;
  private final Device device;

  private NcclGroup(DistEnv env, Store store, ProcessGroupNCCL pg, Device device) {
    super(env);
    this.store = store;
    this.pg = pg;
    this.device = device;
  }

  /** Joins the group on CUDA device LOCAL_RANK; fails clearly without CUDA devices. */
  public static NcclGroup join(DistEnv env) {
    TorchRuntime.load();
    if (!torch.cuda_is_available()) {
      throw new DistributedException("rank " + env.rank() + ": --dist_backend nccl needs CUDA devices and the "
          + "pytorch -gpu natives; none are visible (use gloo)", null);
    }
    int devices = torch.cuda_device_count();
    if (env.localRank() >= devices) {
      throw new DistributedException("rank " + env.rank() + ": LOCAL_RANK " + env.localRank() + " has no CUDA device "
          + "(this node has " + devices + ")", null);
    }
    try {
      Store store = GlooGroup.store(env);
      ProcessGroupNCCL.Options opts = ProcessGroupNCCL.Options.create();
      opts.timeout(new Milliseconds(env.timeout().toMillis()));
      ProcessGroupNCCL pg = new ProcessGroupNCCL(store, env.rank(), env.worldSize(), opts);
      return new NcclGroup(env, store, pg, new Device(torch.DeviceType.CUDA, (byte) env.localRank()));
    } catch (RuntimeException e) {
      throw new DistributedException("rank " + env.rank() + " of " + env.worldSize() + ": the NCCL rendezvous at "
          + env.masterAddr() + ":" + env.masterPort() + " failed within the " + env.timeout().toSeconds()
          + " s timeout: " + e.getMessage(), e);
    }
  }

  @Override
  public void allReduceSum(Tensor t, String what) {
    timedRun(what + " (NCCL)", () -> {
      if (org.vlmr1.kernels.Devices.on(t, device)) {
        pg.allreduce(new TensorVector(t))._wait(); // a gradient of the rank's model: in place
        return;
      }
      Tensor d = t.to(device, t.scalar_type());
      pg.allreduce(new TensorVector(d))._wait();
      t.copy_(d.to(new Device(torch.DeviceType.CPU), t.scalar_type()));
    });
  }

  @Override
  public Pending allReduceSumAsync(Tensor t, String what) {
    allReduceSum(t, what); // staged through the device: synchronous until the models run on CUDA
    return () -> { };
  }

  @Override
  public void barrier(String what) {
    timedRun(what + " (NCCL)", () -> pg.barrier(new BarrierOptions())._wait());
  }

  @Override
  public void close() {
    pg.close();
    store.close();
  }
}
