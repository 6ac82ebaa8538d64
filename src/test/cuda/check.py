#!/usr/bin/env python3
"""The GPU check of vlmr1's CUDA twins (run by src/test/cuda/check.sh on the GPU machine; see its header).

Phases, each writing to --out as it goes (check.log, check.json, check.md):
  smoke     one tiny call of each kernel (check.sh runs it first, in its own process)
  goldens   every golden case (the Java composites' outputs, src/test/cuda/goldens) through our kernels, f32 and bf16,
            plus the contract checks: determinism, in-place gradient, row ranges, bad arguments, the non-finite count
  large     our kernels against the PyTorch oracle on the GPU at V = 151,936
  timing    CUDA-event timings at B = 16, T = 1024, V = 151,936 against the copy bandwidth and PyTorch eager
--oracle-only runs just the oracle against the goldens on the CPU (validates the oracle without a GPU), and checks
the ctypes bindings against src/main/native/cuda/vlmr1_cuda.h:
  /usr/bin/python3 src/test/cuda/check.py --oracle-only --out /tmp/oracle
--emulated runs the kernels' own source on the CPU: --lib is the emulation (src/test/cuda/emu/build.sh), tensors
stay on the CPU, the large shape shrinks (--large-shape), and there is no timing phase (CPU times mean nothing):
  src/test/cuda/check.sh --emulate
Exit status: 0 all correctness checks passed, 1 a correctness check failed, 2 a kernel errored or crashed the context.

Tolerances (|actual - expected| <= rtol * |expected| + atol unless "scale": rtol * max|expected| + atol):
  log-probs 1e-5 / 1e-5 (bf16 logits are upcast, so the math is float32 for both dtypes); entropy 5e-5 / 1e-5 (and
  1e-4 / 1e-4 at V = 151,936: float32 sums over V terms); loss and KL / entropy metrics 1e-5 / 1e-6 (1e-4 at
  V = 151,936); clip fractions 0 / 1e-6 on goldens, 0 / 2e-3 at scale (a ratio on a clip bound may flip one
  token); gradients scale 2e-5 (f32) and scale 1e-2 (bf16: one bf16 rounding); advantages 1e-5 / 1e-6; image values
  0 / 1e-6; sampler positions exact. Golden comparisons add scaling_slack to the atol: the gap between the
  composites' x / T and the kernels' x * float32(1 / T), nonzero only at T != 1 on rows of large logits (+-1e4).
"""
import argparse
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import torch  # noqa: E402

import eager  # noqa: E402
import oracle  # noqa: E402
from goldens import load_all  # noqa: E402
from report import Report, compare, compare_exact, compare_scalars, compare_scaled_on_device  # noqa: E402

LOGP = (1e-5, 1e-5)
ENTROPY = (5e-5, 1e-5)
LOSS = (1e-5, 1e-6)
CLIP = (0.0, 1e-6)
GRAD = {torch.float32: 2e-5, torch.bfloat16: 1e-2}
ADV = (1e-5, 1e-6)
IMAGE = (0.0, 1e-6)
DEVICE = "cuda"  # the kernels' device (a CPU dry run of the harness's control flow may rebind it)
CFG_KEYS = ("epsilon_low", "epsilon_high", "beta", "temperature", "loss_type", "max_completion_length",
            "dapo_token_count", "loss_scale")


class ContextLost(RuntimeError):
    """The CUDA context reported an error: later kernel calls would only repeat it."""


# ------------------------------------------------------------------------------------------------ backends


class OracleBackend:
    """The PyTorch oracle on `device`."""

    def __init__(self, device):
        self.device = torch.device(device)
        # The composites' chunks (2^19 / 2^20 logits) on the CPU; on a GPU 2^26 (256 MiB of float32) per chunk
        # keeps the launch count down at V = 151,936 without changing the math.
        self.chunk = None if self.device.type == "cpu" else 1 << 26

    def to(self, t):
        return None if t is None else t.to(self.device)

    def token_logprobs(self, logits, targets, temperature):
        kw = {"chunk_elements": self.chunk} if self.chunk else {}
        return oracle.token_logprobs(self.to(logits), self.to(targets), temperature, **kw)

    def loss(self, logits, ids, mask, adv, old, ref, cfg, **_):
        kw = {"chunk_elements": self.chunk} if self.chunk else {}
        loss, metrics, logp, grad = oracle.grpo_loss(self.to(logits), self.to(ids), self.to(mask), self.to(adv),
                                                     self.to(old), self.to(ref), cfg, **kw)
        return loss, metrics, 0, logp, grad

    def advantages(self, rewards, group_size, scale):
        return oracle.group_advantages(self.to(rewards), group_size, scale)

    def qwen(self, rgb, mean, std):
        return oracle.qwen_patchify(self.to(rgb), self.to(mean), self.to(std))

    def internvl(self, rgb, cols, rows, size, mean, std):
        return oracle.internvl_tiles(self.to(rgb), cols, rows, size, self.to(mean), self.to(std))

    def draw(self, w, u):
        return oracle.sample_draw(self.to(w), self.to(u))

    def top_p(self, w, top_p):
        return oracle.top_p_filter(self.to(w), top_p)


class CudaBackend:
    """Our CUDA kernels through cuda_lib (inputs copied to the GPU)."""

    def __init__(self, lib):
        self.lib = lib
        self.device = torch.device(DEVICE)

    def to(self, t):
        return None if t is None else t.to(self.device).contiguous()

    def token_logprobs(self, logits, targets, temperature, entropy=True):
        x = self.to(logits)
        lp = torch.empty(x.shape[0], dtype=torch.float32, device=self.device)
        ent = torch.empty_like(lp) if entropy else None
        self.lib.token_logprobs(x, self.to(targets), temperature, lp, ent)
        return lp, ent

    def loss(self, logits, ids, mask, adv, old, ref, cfg, in_place=False, splits=1):
        import cuda_lib
        x = self.to(logits).clone() if in_place else self.to(logits)  # never overwrite the caller's logits
        grad = x if in_place else torch.empty_like(x)
        return cuda_lib.grpo_loss(self.lib, x, self.to(ids), self.to(mask), self.to(adv), self.to(old),
                                  self.to(ref), cfg, grad=grad, splits=splits)

    def advantages(self, rewards, group_size, scale):
        r = self.to(rewards.float())
        out = torch.empty_like(r)
        self.lib.group_advantages(r, group_size, scale, out)
        return out

    def qwen(self, rgb, mean, std):
        h, w, _ = rgb.shape
        out = torch.empty((h // 14) * (w // 14), 1176, dtype=torch.float32, device=self.device)
        self.lib.qwen_patchify(self.to(rgb), self.to(mean), self.to(std), out)
        return out

    def internvl(self, rgb, cols, rows, size, mean, std):
        out = torch.empty(rows * cols, 3, size, size, dtype=torch.float32, device=self.device)
        self.lib.internvl_tiles(self.to(rgb), cols, rows, size, self.to(mean), self.to(std), out)
        return out

    def draw(self, w, u):
        out = torch.empty(w.shape[0], dtype=torch.int64, device=self.device)
        self.lib.sample_draw(self.to(w), self.to(u), out)
        return out

    def top_p(self, w, top_p, in_place=False):
        """As CudaProvider.topPFilter: torch's stable sort on the device, flipped, then our kernel's sums."""
        x = self.to(w).clone() if in_place else self.to(w)
        values, order = torch.sort(x, dim=1, stable=True)
        out = x if in_place else torch.empty_like(x)
        self.lib.top_p_filter(x, values.flip(1).contiguous(), order.flip(1).contiguous(), top_p, out)
        return out


def sync_or_lose(report):
    """Synchronises; a sticky CUDA error becomes ContextLost."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        try:
            torch.cuda.synchronize()
        except RuntimeError as e:
            report.failure("cuda", "context", e)
            raise ContextLost(str(e))


def guarded(report, phase, name, fn):
    """Runs one check; an exception is a failure (and a lost context ends the phase)."""
    try:
        return fn()
    except ContextLost:
        raise
    except Exception as e:  # noqa: BLE001 - every error is a reported failure
        report.failure(phase, name, "%s: %s" % (type(e).__name__, e))
        report.log(traceback.format_exc())
        sync_or_lose(report)
        return False


# ------------------------------------------------------------------------------------------------ golden checks


def scaling_slack(fn):
    """2 |fn() - fn() under oracle.INVERSE_SCALING| for each tensor fn returns: how far apart the composites' x / T and
    the kernels' x * float32(1 / T) (the CPU kernel's scaling too) may put an output, 0 where they agree (T = 1, or
    moderate logits). The golden comparisons add it to their atol, so the edge rows of +-1e4 logits at T != 1, where
    the two scalings round one float32 ulp of x / T (~1e-3) apart, judge the kernels by their own definition."""
    try:
        oracle.INVERSE_SCALING = False
        a = fn()
        oracle.INVERSE_SCALING = True
        b = fn()
    finally:
        oracle.INVERSE_SCALING = False
    return [torch.nan_to_num((torch.as_tensor(y).double() - torch.as_tensor(x).double()).abs().flatten(), nan=0.0,
                             posinf=0.0) * 2 for x, y in zip(a, b)]


def loss_cfg(params):
    return {k: params[k] for k in CFG_KEYS}


def loss_inputs(g, params):
    case = "inputs_" + params["inputs"]
    old = g.get(case, "old") if params["old"] else None
    ref = g.get(case, "ref") if params["ref"] else None
    return g.get(case, "logits"), g.get(case, "ids"), g.get(case, "mask"), g.get(case, "adv"), old, ref


def loss_slack(g, case):
    """scaling_slack of a loss golden: (loss, kl + entropy, logp, grad) tensors to add to the atol."""
    p = g.params(case)
    logits, ids, mask, adv, old, ref = loss_inputs(g, p)

    def run():
        loss, metrics, logp, grad = oracle.grpo_loss(logits, ids, mask, adv, old, ref, loss_cfg(p))
        return [torch.tensor([loss]), torch.tensor(metrics[0:2]), logp, grad]
    return scaling_slack(run)


def check_loss_result(report, phase, name, g, case, result, grad_dtype):
    loss, metrics, nonfinite, logp, grad = result
    want = g.get(case, "loss_metrics").tolist()
    s_loss, s_metrics, s_logp, s_grad = loss_slack(g, case)
    ok = report.check(phase, name + " loss", compare_scalars([want[0]], [loss], LOSS[0], LOSS[1] + s_loss))
    ok &= report.check(phase, name + " kl,entropy", compare_scalars(want[1:3], metrics[0:2], LOSS[0],
                                                                    LOSS[1] + s_metrics))
    ok &= report.check(phase, name + " clip fractions", compare_scalars(want[3:6], metrics[2:5], *CLIP))
    ok &= report.check(phase, name + " non-finite count", compare_scalars([0], [nonfinite], 0, 0))
    ok &= report.check(phase, name + " logp", compare(g.get(case, "logp"), logp, LOGP[0], LOGP[1] + s_logp))
    ok &= report.check(phase, name + " grad", compare(g.get(case, "grad"), grad, GRAD[grad_dtype], 1e-9 + s_grad,
                                                      scale_relative=True))
    return ok


def golden_checks(report, phase, backend, goldens,
                  kinds=("tokens", "loss", "advantages", "images", "draw", "top_p")):
    if "tokens" in kinds:
        g = goldens["token_logprobs"]
        for case in g.cases:
            p = g.params(case)

            def run(case=case, p=p):
                lp, ent = backend.token_logprobs(g.get(case, "logits"), g.get(case, "targets"), p["temperature"])
                sync_or_lose(report)
                s_lp, s_ent = scaling_slack(lambda: oracle.token_logprobs(g.get(case, "logits"),
                                                                          g.get(case, "targets"), p["temperature"]))
                ok = report.check(phase, "tokenLogProbs %s logp" % case,
                                  compare(g.get(case, "logp"), lp, LOGP[0], LOGP[1] + s_lp))
                return ok & report.check(phase, "tokenLogProbs %s entropy" % case,
                                         compare(g.get(case, "entropy"), ent, ENTROPY[0], ENTROPY[1] + s_ent))
            guarded(report, phase, "tokenLogProbs " + case, run)
    if "loss" in kinds:
        g = goldens["grpo_loss"]
        for case in [c for c in g.cases if not c.startswith("inputs_")]:
            p = g.params(case)

            def run(case=case, p=p):
                logits, ids, mask, adv, old, ref = loss_inputs(g, p)
                r = backend.loss(logits, ids, mask, adv, old, ref, loss_cfg(p))
                sync_or_lose(report)
                return check_loss_result(report, phase, "grpoLoss " + case, g, case, r, logits.dtype)
            guarded(report, phase, "grpoLoss " + case, run)
    if "advantages" in kinds:
        g = goldens["group_advantages"]
        for case in g.cases:
            p = g.params(case)

            def run(case=case, p=p):
                a = backend.advantages(g.get(case, "rewards"), p["group_size"], p["scale"])
                sync_or_lose(report)
                return report.check(phase, "groupAdvantages " + case, compare(g.get(case, "advantages"), a, *ADV))
            guarded(report, phase, "groupAdvantages " + case, run)
    if "images" in kinds:
        g = goldens["images"]
        for case in g.cases:
            p = g.params(case)

            def run(case=case, p=p):
                rgb, mean, std = g.get(case, "rgb"), g.get(case, "mean"), g.get(case, "std")
                if p["kind"] == "qwen":
                    out = backend.qwen(rgb, mean, std)
                else:
                    out = backend.internvl(rgb, p["cols"], p["rows"], p["size"], mean, std)
                sync_or_lose(report)
                return report.check(phase, "image %s" % case, compare(g.get(case, "out"), out, *IMAGE))
            guarded(report, phase, "image " + case, run)
    if "draw" in kinds:
        g = goldens["sample_draw"]
        for case in g.cases:
            def run(case=case):
                pos = backend.draw(g.get(case, "w"), g.get(case, "u"))
                sync_or_lose(report)
                return report.check(phase, "sampleDraw %s" % case, compare_exact(g.get(case, "pos"), pos.cpu()))
            guarded(report, phase, "sampleDraw " + case, run)
    if "top_p" in kinds:
        g = goldens["top_p_filter"]
        for case in g.cases:
            def run(case=case):
                out = backend.top_p(g.get(case, "w"), g.params(case)["top_p"])
                sync_or_lose(report)
                return report.check(phase, "topPFilter %s" % case, compare_exact(g.get(case, "out"), out.cpu()))
            guarded(report, phase, "topPFilter " + case, run)


# ------------------------------------------------------------------------------------------------ contract checks


def contract_checks(report, lib, goldens):
    """What the ABI promises beyond the values: determinism, in-place gradient, row ranges, errors, counts."""
    import cuda_lib
    phase = "contract"
    be = CudaBackend(lib)
    g = goldens["grpo_loss"]

    def tokens_deterministic():
        t = goldens["token_logprobs"]
        case = "bf16_v20011"
        a = be.token_logprobs(t.get(case, "logits"), t.get(case, "targets"), 1.0)
        b = be.token_logprobs(t.get(case, "logits"), t.get(case, "targets"), 1.0)
        c, none = be.token_logprobs(t.get(case, "logits"), t.get(case, "targets"), 1.0, entropy=False)
        sync_or_lose(report)
        ok = report.check(phase, "tokenLogProbs bit-identical run to run",
                          compare_exact(a[0].cpu(), b[0].cpu()) if torch.equal(a[1], b[1]) else
                          {"ok": False, "why": "entropy differs"})
        return ok & report.check(phase, "tokenLogProbs without entropy", compare(a[0], c, *LOGP))
    guarded(report, phase, "tokenLogProbs determinism", tokens_deterministic)

    for case, mode in (("f32_grpo_old_ref", "in_place"), ("bf16_dapo_old_ref", "in_place"),
                       ("f32_bnpo_old_ref", "splits"), ("bf16_dr_grpo_ref", "splits")):
        p = g.params(case)

        def run(case=case, p=p, mode=mode):
            logits, ids, mask, adv, old, ref = loss_inputs(g, p)
            kw = {"in_place": True} if mode == "in_place" else {"splits": 4}
            r = be.loss(logits, ids, mask, adv, old, ref, loss_cfg(p), **kw)
            sync_or_lose(report)
            return check_loss_result(report, phase, "grpoLoss %s %s" % (case, mode), g, case, r, logits.dtype)
        guarded(report, phase, "grpoLoss %s %s" % (case, mode), run)

    def loss_deterministic():
        p = g.params("f32_grpo_old_ref")
        logits, ids, mask, adv, old, ref = loss_inputs(g, p)
        a = be.loss(logits, ids, mask, adv, old, ref, loss_cfg(p))
        b = be.loss(logits, ids, mask, adv, old, ref, loss_cfg(p))
        sync_or_lose(report)
        same = a[0] == b[0] and a[1] == b[1] and torch.equal(a[3], b[3]) and torch.equal(a[4], b[4])
        return report.check(phase, "grpoLoss bit-identical run to run", {"ok": same, "tol": "exact"})
    guarded(report, phase, "grpoLoss determinism", loss_deterministic)

    def bad_tokens():
        """Tokens the CPU kernel throws on get clip code 3, a zero gradient row, and are counted by the reduce."""
        case = "f32_grpo_old"
        p = g.params(case)
        logits, ids, mask, adv, old, ref = loss_inputs(g, p)
        mask2 = mask.clone()
        mask2[1, 3] = 1  # its target logit is -inf
        r = be.loss(logits, ids, mask2, adv, old, ref, loss_cfg(p))
        sync_or_lose(report)
        ok = report.check(phase, "grpoLoss counts an unmasked -inf log-prob",
                          {"ok": r[2] == 1, "why": "count %d, expected 1" % r[2], "tol": "exact"})
        ok &= report.check(phase, "grpoLoss zero gradient row for it",
                           compare_exact(torch.zeros(logits.shape[2]), r[4][1, 3].cpu()))
        ids2 = ids.clone()
        ids2[0, 1] = logits.shape[2]  # one past the vocabulary, unmasked
        r = be.loss(logits, ids2, mask, adv, old, ref, loss_cfg(p))
        sync_or_lose(report)
        ok &= report.check(phase, "grpoLoss counts an unmasked out-of-range target",
                           {"ok": r[2] == 1, "why": "count %d, expected 1" % r[2], "tol": "exact"})
        ok &= report.check(phase, "grpoLoss zero gradient row for it",
                           compare_exact(torch.zeros(logits.shape[2]), r[4][0, 1].cpu()))
        keep = torch.ones(ids.shape, dtype=torch.bool)
        keep[0, 1] = False  # the other tokens' gradients are untouched (same mask, so same normalisers)
        slack = loss_slack(g, case)[3].view(logits.shape)[keep]
        return ok & report.check(phase, "grpoLoss other rows unaffected",
                                 compare(g.get(case, "grad")[keep], r[4].cpu()[keep], GRAD[torch.float32],
                                         1e-9 + slack, scale_relative=True))
    guarded(report, phase, "grpoLoss bad tokens", bad_tokens)

    def bad_arguments():
        x = torch.zeros(2, 5, device=DEVICE)
        ids = torch.zeros(2, dtype=torch.int64, device=DEVICE)
        lp = torch.empty(2, device=DEVICE)
        ok = True
        for what, call in (
                ("dtype 7", lambda: lib._call("vlmr1_cuda_token_logprobs", cuda_lib._ptr(x), 7, cuda_lib._ptr(ids),
                                              2, 5, 1.0, cuda_lib._ptr(lp), None, cuda_lib._stream())),
                ("vocab 0", lambda: lib._call("vlmr1_cuda_token_logprobs", cuda_lib._ptr(x), 0, cuda_lib._ptr(ids),
                                              2, 0, 1.0, cuda_lib._ptr(lp), None, cuda_lib._stream())),
                ("temperature 0", lambda: lib.token_logprobs(x, ids, 0.0, lp)),
                ("scale 9", lambda: lib.group_advantages(lp, 2, 9, lp)),
                ("top_p 0", lambda: lib.top_p_filter(x, x, ids, 0.0, x)),
                ("top_p 1.5", lambda: lib.top_p_filter(x, x, ids, 1.5, x)),
                ("top_p NaN", lambda: lib.top_p_filter(x, x, ids, float("nan"), x)),
                ("top_p k 0", lambda: lib._call("vlmr1_cuda_top_p_filter", cuda_lib._ptr(x), cuda_lib._ptr(x),
                                                cuda_lib._ptr(ids), 2, 0, 0.5, cuda_lib._ptr(x), cuda_lib._stream()))):
            try:
                call()
                ok &= report.check(phase, "rejects " + what, {"ok": False, "why": "returned 0"})
            except cuda_lib.KernelError as e:
                ok &= report.check(phase, "rejects " + what, {"ok": e.code == 1 and len(lib.last_error()) > 0,
                                                              "why": str(e), "tol": "code 1 + message"})
        sync_or_lose(report)
        return ok
    guarded(report, phase, "bad arguments", bad_arguments)

    if cuda_lib.HOST:
        guarded(report, phase, "launches on the data's device", lambda: device_contract(report, lib, be, goldens))

    def top_p_in_place():
        t = goldens["top_p_filter"]
        ok = True
        for case in t.cases:
            out = be.top_p(t.get(case, "w"), t.params(case)["top_p"], in_place=True)
            sync_or_lose(report)
            ok &= report.check(phase, "topPFilter %s in place" % case, compare_exact(t.get(case, "out"), out.cpu()))
        return ok
    guarded(report, phase, "topPFilter in place", top_p_in_place)


def device_contract(report, lib, be, goldens):
    """Emulated only: every entry point launches on the device that holds its data and gives the caller's current
    device back (a tensor on cuda:1 must not run on device 0, where libtorch's ops leave the current device). The
    emulator's test hooks name all memory as device 1, count launches per device, and report the current device."""
    import ctypes
    emu = lib.lib
    emu.vlmr1emu_mark_device.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    emu.vlmr1emu_mark_device.restype = None
    emu.vlmr1emu_launches.argtypes = [ctypes.c_int]
    emu.vlmr1emu_launches.restype = ctypes.c_long
    emu.vlmr1emu_current_device.restype = ctypes.c_int
    t = goldens["token_logprobs"]
    tcase = t.cases[0]
    g = goldens["grpo_loss"]
    lcase = g.cases[0]
    p = g.params(lcase)
    w = torch.rand(3, 7, dtype=torch.float64)
    u = torch.rand(3, dtype=torch.float64)
    rgb = torch.randint(0, 256, (28, 56, 3), dtype=torch.uint8)
    mean = torch.tensor([0.5, 0.4, 0.3])
    std = torch.tensor([0.2, 0.25, 0.3])
    calls = (
        ("tokenLogProbs", 1, lambda: be.token_logprobs(t.get(tcase, "logits"), t.get(tcase, "targets"), 1.0)),
        ("grpoLoss rows + reduce", 2, lambda: be.loss(*loss_inputs(g, p), loss_cfg(p))),
        ("groupAdvantages", 1, lambda: be.advantages(torch.rand(6), 3, 0)),
        ("sampleDraw", 1, lambda: be.draw(w, u)),
        ("topPFilter", 1, lambda: be.top_p(w, 0.7)),
        ("qwenPatchify", 1, lambda: be.qwen(rgb, mean, std)),
        ("internvlTiles", 1, lambda: be.internvl(rgb[:, :28], 1, 1, 28, mean, std)),
    )
    ok = True
    try:
        for device in (0, 1):  # 0: nothing named, the current device stays; 1: all memory on device 1
            emu.vlmr1emu_mark_device(None, 0, -1)
            if device:
                emu.vlmr1emu_mark_device(None, ctypes.c_size_t(-1).value, 1)
            for name, launches, call in calls:
                before = [emu.vlmr1emu_launches(d) for d in (0, 1)]
                call()
                after = [emu.vlmr1emu_launches(d) for d in (0, 1)]
                got = [a - b for a, b in zip(after, before)]
                want = [launches, 0] if device == 0 else [0, launches]
                current = emu.vlmr1emu_current_device()
                ok &= report.check("contract", "%s on device %d" % (name, device),
                                   {"ok": got == want and current == 0, "tol": "exact",
                                    "why": "launches on devices 0, 1: %s, expected %s; current device after: %d"
                                           % (got, want, current)})
    finally:
        emu.vlmr1emu_mark_device(None, 0, -1)
    return ok


# ------------------------------------------------------------------------------------------------ smoke


def smoke(report, lib):
    """One tiny call of each kernel, each compared with the oracle on the CPU."""
    phase = "smoke"
    report.info["library"] = lib.version()
    be = CudaBackend(lib)
    cpu = OracleBackend("cpu")
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 5, generator=gen)
    targets = torch.tensor([1, 4])
    w = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    u = torch.tensor([0.75], dtype=torch.float64)
    rgb = torch.randint(0, 256, (28, 28, 3), dtype=torch.uint8, generator=gen)
    mean = torch.tensor([0.5, 0.4, 0.3])
    std = torch.tensor([0.2, 0.3, 0.25])
    cfg = {"epsilon_low": 0.2, "epsilon_high": 0.2, "beta": 0.04, "temperature": 1.0, "loss_type": 0,
           "max_completion_length": 2, "dapo_token_count": 0.0, "loss_scale": 1.0}
    lx = torch.randn(1, 2, 5, generator=gen)
    lids = torch.tensor([[0, 3]])
    lmask = torch.tensor([[1.0, 1.0]])
    ladv = torch.tensor([0.5])
    lref = torch.tensor([[-1.5, -2.0]])
    checks = [
        ("tokenLogProbs", lambda: compare(cpu.token_logprobs(logits, targets, 1.0)[0],
                                          be.token_logprobs(logits, targets, 1.0)[0], *LOGP)),
        ("groupAdvantages", lambda: compare(cpu.advantages(torch.tensor([1.0, 0, 0, 1]), 2, 0),
                                            be.advantages(torch.tensor([1.0, 0, 0, 1]), 2, 0), *ADV)),
        ("grpoLoss", lambda: compare(cpu.loss(lx, lids, lmask, ladv, None, lref, cfg)[4],
                                     be.loss(lx, lids, lmask, ladv, None, lref, cfg)[4], GRAD[torch.float32], 1e-9,
                                     scale_relative=True)),
        ("sampleDraw", lambda: compare_exact(torch.tensor([1]), be.draw(w, u).cpu())),
        ("topPFilter", lambda: compare_exact(torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64),
                                             be.top_p(torch.tensor([[1.0, 1.0, 2.0]], dtype=torch.float64), 0.6)
                                             .cpu())),
        ("qwenPatchify", lambda: compare(cpu.qwen(rgb, mean, std), be.qwen(rgb, mean, std), *IMAGE)),
        ("internvlTiles", lambda: compare(cpu.internvl(rgb, 1, 1, 28, mean, std),
                                          be.internvl(rgb, 1, 1, 28, mean, std), *IMAGE)),
    ]
    for name, fn in checks:
        def run(name=name, fn=fn):
            r = fn()
            sync_or_lose(report)
            return report.check(phase, name, r)
        guarded(report, phase, name, run)


# ------------------------------------------------------------------------------------------------ large shapes


def random_batch(b, t, v, dtype, seed):
    """Logits N(0, 4) with 0.1% -inf (never at an unmasked target), ragged masks (the last sequence fully masked),
    old log-probs within +-0.5 of the policy's (ratios on both sides of the clip range), reference within 0.3."""
    device = DEVICE
    gen = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(b, t, v, device=device, generator=gen, dtype=torch.float32) * 2
    ids = torch.randint(0, v, (b, t), device=device, generator=gen)
    x.masked_fill_(torch.rand(b, t, v, device=device, generator=gen) < 1e-3, float("-inf"))
    x.scatter_(2, ids.unsqueeze(2), torch.randn(b, t, 1, device=device, generator=gen) * 2 + 3)
    x = x.to(dtype)
    lens = torch.randint(1, t + 1, (b,), device=device, generator=gen)
    mask = (torch.arange(t, device=device).unsqueeze(0) < lens.unsqueeze(1)).float()
    if b > 1:
        mask[-1] = 0
    adv = torch.randn(b, device=device, generator=gen)
    return x, ids, mask, adv, gen


def large_checks(report, lib, seed, shape=(2, 1024, 151936)):
    be = CudaBackend(lib)
    orc = OracleBackend(DEVICE)
    b, t, v = shape
    report.log("large: B=%d T=%d V=%d seed %d" % (b, t, v, seed))
    for dtype in (torch.float32, torch.bfloat16):
        large_dtype(report, be, orc, b, t, v, dtype, seed)
        torch.cuda.empty_cache()
    many_blocks(report, be, orc, seed)


def many_blocks(report, be, orc, seed):
    """The one-thread-per-item kernels past one block (the goldens fit in one): advantages with each thread looping
    over several groups, the draw over 8 blocks with a partial last one, the image kernels over ~1000 blocks."""
    phase = "large"
    gen = torch.Generator().manual_seed(seed)
    rewards = torch.randn(8 * 700, generator=gen)  # 700 groups of 8: threads 0..187 take 3 groups
    for scale in (0, 1, 2):
        guarded(report, phase, "groupAdvantages 700x8 scale %d" % scale, lambda scale=scale: report.check(
            phase, "groupAdvantages 700x8 scale %d" % scale,
            compare(orc.advantages(rewards, 8, scale), be.advantages(rewards, 8, scale), *ADV)))
    w = torch.rand(1000, 64, generator=gen, dtype=torch.float64)
    w[torch.rand(1000, 64, generator=gen) < 0.3] = 0
    w[7] = 0  # a row with no weight: position 0
    u = torch.rand(1000, generator=gen, dtype=torch.float64)
    u[::97] = 1 - 2 ** -53  # u * W rounding up to W
    # the draw and top-p are defined by sequential sums: the oracle runs them on the CPU (torch's CUDA cumsum is a
    # parallel scan, which may round differently)
    guarded(report, phase, "sampleDraw 1000x64", lambda: report.check(
        phase, "sampleDraw 1000x64", compare_exact(oracle.sample_draw(w, u), be.draw(w, u).cpu())))
    wq = torch.floor(w * 4) / 4  # quarter steps: many ties, and masses that land exactly on top_p
    for top_p in (0.9, 0.5):
        guarded(report, phase, "topPFilter 1000x64 p%g" % top_p, lambda top_p=top_p: report.check(
            phase, "topPFilter 1000x64 p%g" % top_p, compare_exact(oracle.top_p_filter(wq, top_p),
                                                                  be.top_p(wq, top_p).cpu())))
    wide = torch.exp(torch.randn(3, 151936, generator=gen, dtype=torch.float64) * 2)  # no top-k: the whole vocabulary
    guarded(report, phase, "topPFilter 3x151936 p0.95", lambda: report.check(
        phase, "topPFilter 3x151936 p0.95", compare_exact(oracle.top_p_filter(wide, 0.95), be.top_p(wide, 0.95).cpu())))
    rgb = torch.randint(0, 256, (168, 224, 3), dtype=torch.uint8, generator=gen)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711])
    guarded(report, phase, "qwenPatchify 224x168", lambda: report.check(
        phase, "qwenPatchify 224x168", compare(orc.qwen(rgb, mean, std), be.qwen(rgb, mean, std), *IMAGE)))
    tiles = torch.randint(0, 256, (2 * 96, 3 * 96, 3), dtype=torch.uint8, generator=gen)
    guarded(report, phase, "internvlTiles 3x2 of 96", lambda: report.check(
        phase, "internvlTiles 3x2 of 96", compare(orc.internvl(tiles, 3, 2, 96, mean, std),
                                                  be.internvl(tiles, 3, 2, 96, mean, std), *IMAGE)))


def large_dtype(report, be, orc, b, t, v, dtype, seed):
    phase = "large"
    dn = "f32" if dtype == torch.float32 else "bf16"
    x, ids, mask, adv, gen = random_batch(b, t, v, dtype, seed)

    def tokens(temperature):
        lp_o, ent_o = orc.token_logprobs(x.view(b * t, v), ids.view(-1), temperature)
        lp, ent = be.token_logprobs(x.view(b * t, v), ids.view(-1), temperature)
        sync_or_lose(report)
        ok = report.check(phase, "tokenLogProbs %s T=%g logp" % (dn, temperature), compare(lp_o, lp, *LOGP))
        return ok & report.check(phase, "tokenLogProbs %s T=%g entropy" % (dn, temperature),
                                 compare(ent_o, ent, 1e-4, 1e-4))
    for temperature in (1.0, 0.7):
        guarded(report, phase, "tokenLogProbs %s" % dn, lambda temperature=temperature: tokens(temperature))
    lp, _ = oracle.token_logprobs(x.view(b * t, v), ids.view(-1), 0.9)
    lp = lp.view(b, t)
    old = lp + torch.rand(b, t, device=DEVICE, generator=gen) - 0.5
    ref = lp + torch.randn(b, t, device=DEVICE, generator=gen) * 0.3
    old = torch.where(torch.isfinite(old), old, torch.zeros_like(old))
    ref = torch.where(torch.isfinite(ref), ref, torch.zeros_like(ref))
    loss_types = (0, 1, 2, 3) if dtype == torch.float32 else (0, 3)
    for lt in loss_types:
        cfg = {"epsilon_low": 0.2, "epsilon_high": 0.28, "beta": 0.04, "temperature": 0.9, "loss_type": lt,
               "max_completion_length": t, "dapo_token_count": 0.0, "loss_scale": 1.0}

        def run(cfg=cfg, lt=lt):
            lo, mo, _, lpo, go = orc.loss(x, ids, mask, adv, old, ref, cfg)
            r = be.loss(x, ids, mask, adv, old, ref, cfg)
            sync_or_lose(report)
            name = "grpoLoss %s type %d" % (dn, lt)
            ok = report.check(phase, name + " loss", compare_scalars([lo], [r[0]], 1e-4, 1e-6))
            ok &= report.check(phase, name + " kl,entropy", compare_scalars(mo[0:2], r[1][0:2], 1e-4, 1e-6))
            ok &= report.check(phase, name + " clip fractions", compare_scalars(mo[2:5], r[1][2:5], 0, 2e-3))
            ok &= report.check(phase, name + " logp", compare(lpo, r[3], *LOGP))
            # on the device: a (B, T, V) gradient is 2.5 GB per float64 copy on the host, ~40 s a compare
            ok &= report.check(phase, name + " grad", compare_scaled_on_device(go, r[4], GRAD[dtype], 1e-9))
            return ok
        guarded(report, phase, "grpoLoss %s type %d" % (dn, lt), run)


# ------------------------------------------------------------------------------------------------ timing


def cuda_ms(fn, warmup, reps):
    """Median milliseconds of fn() by CUDA events, after warm-up calls; a call slower than half a second gets one
    timed repetition (the run must stay within its budget)."""
    t0 = time.time()
    for _ in range(max(1, warmup)):
        fn()
        torch.cuda.synchronize()
        if time.time() - t0 > 0.5:
            reps = 1
            break
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        z = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        z.record()
        z.synchronize()
        times.append(a.elapsed_time(z))
    times.sort()
    return times[len(times) // 2]


def extra_memory(fn):
    """(peak bytes the caching allocator held beyond what was allocated before fn, bytes taken outside it)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    free0 = torch.cuda.mem_get_info()[0]
    reserved0 = torch.cuda.memory_reserved()
    fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    outside = (free0 - torch.cuda.mem_get_info()[0]) - (torch.cuda.memory_reserved() - reserved0)
    return peak, max(0, outside)


def mib(n):
    return "%.1f MiB" % (n / 2 ** 20)


def timing(report, lib, seed, deadline, shape):
    for dtype in (torch.float32, torch.bfloat16):
        left = deadline - time.time()
        if left < 20:
            report.notes.append("timing %s skipped: %.0f s left of the budget" % (dtype, left))
            report.log(report.notes[-1])
            continue
        # each dtype guarded on its own: an error in f32 (eager running out of memory...) keeps the bf16 rows
        guarded(report, "timing", "timing %s" % dtype, lambda dtype=dtype, left=left: timing_dtype(
            report, lib, seed, dtype, 10 if left >= 60 else 3, shape, deadline))
        torch.cuda.empty_cache()


def timing_dtype(report, lib, seed, dtype, reps, shape, deadline):
    import cuda_lib
    b, t, v = shape
    n = b * t
    dn = "f32" if dtype == torch.float32 else "bf16"
    x, ids, mask, adv, gen = random_batch(b, t, v, dtype, seed)
    mask[:, 0] = 1  # VLM-R1 divides by each completion's token count unclamped: no empty completion here
    nbytes = x.numel() * x.element_size()
    report.log("timing %s: B=%d T=%d V=%d logits %.2f GB, %d reps" % (dn, b, t, v, nbytes / 1e9, reps))
    dst = torch.empty_like(x)
    copy_ms = cuda_ms(lambda: dst.copy_(x), 2, reps)
    dst = None
    bw = 2 * nbytes / (copy_ms / 1e3)  # bytes/s, read + write
    read_floor = nbytes / bw * 1e3
    rw_floor = 2 * nbytes / bw * 1e3
    report.timing({"dtype": dn, "op": "device copy (read + write)", "ms": copy_ms, "floor_ms": rw_floor,
                   "x_floor": copy_ms / rw_floor, "target": "%.0f GB/s" % (bw / 1e9)})
    rows = x.view(n, v)
    flat_ids = ids.view(n)
    lp = torch.empty(n, device=DEVICE)
    ent = torch.empty(n, device=DEVICE)
    temperature = 1.0
    ours_lp = cuda_ms(lambda: lib.token_logprobs(rows, flat_ids, temperature, lp), 2, reps)
    ours_lp_ent = cuda_ms(lambda: lib.token_logprobs(rows, flat_ids, temperature, lp, ent), 2, reps)
    eager_lp = cuda_ms(lambda: eager.token_logprobs(x, ids, temperature), 1, max(2, reps // 2))

    def tokens_call():
        o = torch.empty(n, device=DEVICE)
        e = torch.empty(n, device=DEVICE)
        lib.token_logprobs(rows, flat_ids, temperature, o, e)
    mem_lp = extra_memory(tokens_call)
    mem_lp_eager = extra_memory(lambda: eager.token_logprobs(x, ids, temperature))
    for name, ms in (("tokenLogProbs", ours_lp), ("tokenLogProbs + entropy", ours_lp_ent)):
        report.timing({"dtype": dn, "op": name, "ms": ms, "floor_ms": read_floor, "x_floor": ms / read_floor,
                       "target": "<= 1.5x floor: %s" % ("met" if ms <= 1.5 * read_floor else "MISSED"),
                       "eager_ms": eager_lp, "speedup": eager_lp / ms,
                       "extra_memory": "%s (+%s outside torch); eager %s" % (
                           mib(mem_lp[0]), mib(mem_lp[1]), mib(mem_lp_eager[0]))})
    lpv, _ = oracle.token_logprobs(rows, flat_ids, temperature, chunk_elements=1 << 27)
    # At this shape N x V passes 2^31: a 32-bit offset anywhere in a kernel shows here, not in the smaller phases.
    report.check("timing shape", "tokenLogProbs %s logp vs oracle" % dn, compare(lpv, lp, *LOGP))
    lpv = lpv.view(b, t)
    old = torch.where(torch.isfinite(lpv), lpv + torch.rand(b, t, device=DEVICE, generator=gen) - 0.5,
                      torch.zeros_like(lpv))
    ref = torch.where(torch.isfinite(lpv), lpv + torch.randn(b, t, device=DEVICE, generator=gen) * 0.3,
                      torch.zeros_like(lpv))
    cfg = {"epsilon_low": 0.2, "epsilon_high": 0.28, "beta": 0.04, "temperature": temperature, "loss_type": 0,
           "max_completion_length": t, "dapo_token_count": 0.0, "loss_scale": 1.0}
    grad = torch.empty_like(x)
    ours_loss = cuda_ms(lambda: cuda_lib.grpo_loss(lib, x, ids, mask, adv, old, ref, cfg, grad=grad), 2, reps)
    mem_loss = extra_memory(lambda: cuda_lib.grpo_loss(lib, x, ids, mask, adv, old, ref, cfg, grad=grad))
    if deadline - time.time() > 30:
        ours = cuda_lib.grpo_loss(lib, x, ids, mask, adv, old, ref, cfg, grad=grad)
        want = oracle.grpo_loss(x, ids, mask, adv, old, ref, cfg, chunk_elements=1 << 26)
        name = "grpoLoss %s" % dn
        report.check("timing shape", name + " loss", compare_scalars([want[0]], [ours[0]], 1e-4, 1e-6))
        report.check("timing shape", name + " logp", compare(want[2], ours[3], *LOGP))
        report.check("timing shape", name + " grad",
                     compare_scaled_on_device(want[3], grad, GRAD[dtype], 1e-9))
        want = ours = None
    grad = None
    torch.cuda.empty_cache()
    leaf = x.detach().requires_grad_(True)

    def eager_step():
        eager.grpo_loss_backward(leaf, ids, mask, adv, old, ref, 0.04, 0.2, 0.28, temperature)
        leaf.grad = None
    eager_loss = cuda_ms(eager_step, 1, max(2, reps // 2))
    mem_eager = extra_memory(eager_step)
    report.timing({"dtype": dn, "op": "grpoLoss fwd+bwd (grad to a buffer)", "ms": ours_loss,
                   "floor_ms": rw_floor, "x_floor": ours_loss / rw_floor,
                   "target": "<= 2x floor: %s; >= 5x eager: %s" % (
                       "met" if ours_loss <= 2 * rw_floor else "MISSED",
                       "met" if eager_loss >= 5 * ours_loss else "MISSED"),
                   "eager_ms": eager_loss, "speedup": eager_loss / ours_loss,
                   "extra_memory": "%s (+%s outside torch); eager %s incl. its (N, V) grad" % (
                       mib(mem_loss[0]), mib(mem_loss[1]), mib(mem_eager[0]))})
    leaf = None
    in_place = cuda_ms(lambda: cuda_lib.grpo_loss(lib, x, ids, mask, adv, old, ref, cfg, grad=x), 1, 3)
    report.timing({"dtype": dn, "op": "grpoLoss fwd+bwd (grad over the logits)", "ms": in_place,
                   "floor_ms": rw_floor, "x_floor": in_place / rw_floor,
                   "target": "<= 2x floor: %s" % ("met" if in_place <= 2 * rw_floor else "MISSED")})


# ------------------------------------------------------------------------------------------------ main

HEADER = os.path.join(HERE, "..", "..", "main", "native", "cuda", "vlmr1_cuda.h")


def abi_check(report):
    """The ctypes bindings against the C ABI's header (no GPU needed)."""
    import cuda_lib
    problems = cuda_lib.abi_mismatches(HEADER)
    return report.check("abi", "ctypes bindings match vlmr1_cuda.h", {"ok": not problems, "why": problems,
                                                                      "tol": "same prototypes"})



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT") or "/tmp/vlmr1-cuda-check")
    ap.add_argument("--lib", help="path of libvlmr1cuda.so")
    ap.add_argument("--oracle-only", action="store_true", help="the oracle against the goldens on the CPU")
    ap.add_argument("--phases", default="smoke,goldens,large,timing")
    ap.add_argument("--budget-s", type=float, default=140, help="seconds for all phases; timing shrinks to fit")
    ap.add_argument("--timing-shape", default="16,1024,151936", help="B,T,V of the timings")
    ap.add_argument("--large-shape", help="B,T,V of the large phase (default 2,1024,151936; emulated 2,4,151936)")
    ap.add_argument("--emulated", action="store_true", help="--lib is the CPU emulation: CPU tensors, no timing")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    args = ap.parse_args()
    deadline = time.time() + args.budget_s
    goldens = load_all()
    if args.oracle_only:
        report = Report(args.out, "oracle")
        report.info.update(torch=torch.__version__, device="cpu")
        abi_check(report)
        golden_checks(report, "oracle@cpu", OracleBackend("cpu"), goldens)
        bad = report.failed()
        report.log("oracle: all %d comparisons passed" % len(report.checks) if not bad else
                   "oracle: %d of %d comparisons FAILED" % (len(bad), len(report.checks)))
        report.flush()
        return 1 if bad else 0
    import cuda_lib
    global DEVICE
    phases = args.phases.split(",")
    report = Report(args.out, "smoke" if phases == ["smoke"] else "check")
    abi_check(report)
    if args.emulated:
        DEVICE = "cpu"
        cuda_lib.HOST = True
        if "timing" in phases:
            phases.remove("timing")
            report.notes.append("emulated: no timing phase (CPU times say nothing about the GPU)")
    if DEVICE == "cuda" and not torch.cuda.is_available():
        report.failure("setup", "CUDA device", "torch %s sees no CUDA device" % torch.__version__)
        return 2
    large_shape = tuple(int(x) for x in (args.large_shape or ("2,4,151936" if args.emulated else
                                                               "2,1024,151936")).split(","))
    report.info.update(torch=torch.__version__, cuda=torch.version.cuda,
                       device="CPU emulation" if args.emulated else torch.cuda.get_device_name(0),
                       seed=args.seed, python=sys.version.split()[0])
    report.log("info: %s" % report.info)
    try:
        lib = cuda_lib.CudaLib(args.lib)
        report.info["library"] = lib.version()
    except (OSError, AttributeError) as e:
        report.failure("load", args.lib, e)
        return 2
    try:
        if "smoke" in phases:
            smoke(report, lib)
            if report.failed():
                report.log("smoke failed: later phases skipped")
                return 2
        if "goldens" in phases:
            golden_checks(report, "goldens", CudaBackend(lib), goldens)
            if DEVICE == "cuda":
                golden_checks(report, "oracle@cuda", OracleBackend(DEVICE), goldens, kinds=("tokens", "loss"))
            contract_checks(report, lib, goldens)
        if "large" in phases:
            if deadline - time.time() > 45:
                # guarded: an error in its set-up (not a kernel's) must not cost the timing phase after it
                guarded(report, "large", "large-shape checks", lambda: large_checks(report, lib, args.seed,
                                                                                   large_shape))
            else:
                report.notes.append("large-shape checks skipped: %.0f s left of the budget" % (deadline - time.time()))
                report.log(report.notes[-1])
        if "timing" in phases:
            shape = tuple(int(x) for x in args.timing_shape.split(","))
            timing(report, lib, args.seed, deadline, shape)
    except ContextLost as e:
        report.log("CUDA context lost (%s): later phases skipped" % e)
        return 2
    finally:
        report.flush()
    bad = report.failed()
    report.log("check: %d passed, %d failed" % (len(report.checks) - len(bad), len(bad)))
    report.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
