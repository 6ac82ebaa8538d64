"""Comparison with stated tolerances, and the run's report written as it goes: $OUT/check.log (every line, flushed),
$OUT/results.json (rewritten after each record) and $OUT/results.md (the markdown tables)."""
import json
import math
import os
import time

import torch


def compare(expected, actual, rtol, atol, scale_relative=False):
    """Elementwise |actual - expected| <= tol, tol = rtol * |expected| + atol, or with scale_relative
    rtol * max|expected| + atol (for gradients, whose tiny entries are judged against the row's scale). Infinities
    must match exactly and no NaN is allowed. Returns a dict: ok, max_abs, tol, first_bad, n."""
    e = expected.detach().double().cpu().flatten()
    a = actual.detach().double().cpu().flatten()
    if torch.is_tensor(atol):
        atol = atol.double().cpu().flatten()
    if e.numel() != a.numel():
        return {"ok": False, "why": "%d elements, expected %d" % (a.numel(), e.numel()), "n": e.numel()}
    fin = torch.isfinite(e)
    scale = float(e[fin].abs().max()) if bool(fin.any()) else 0.0
    tol = (rtol * scale + atol) * torch.ones_like(e) if scale_relative else rtol * e.abs() + atol
    diff = (a - e).abs()
    bad = torch.isnan(a) | torch.isnan(e)
    bad |= fin & ~(diff <= tol)
    bad |= ~fin & ~torch.isnan(e) & (a != e)
    n_bad = int(bad.sum())
    d = diff[fin & torch.isfinite(a)]
    r = {"ok": n_bad == 0, "n": e.numel(), "max_abs": float(d.max()) if d.numel() else 0.0,
         "tol": "%g*%s+%s" % (rtol, "max|e|" if scale_relative else "|e|", _atol_text(atol)), "bad": n_bad}
    if n_bad:
        i = int(bad.nonzero()[0])
        r["first_bad"] = {"index": i, "expected": float(e[i]), "actual": float(a[i])}
    return r


def _atol_text(atol):
    """A scalar atol, or an elementwise one (a base plus check.py's scaling slack) by its largest entry."""
    if torch.is_tensor(atol):
        return "%g (elementwise max)" % float(atol.max()) if atol.numel() else "0"
    return "%g" % atol


def compare_scaled_on_device(expected, actual, rtol, atol, rows=4096):
    """compare(..., scale_relative=True) for tensors too large to copy to the host (a (B, T, V) gradient): max|d|
    and max|expected| reduced on the device, row chunk by row chunk; non-finite values must match exactly."""
    e2 = expected.detach().reshape(-1, expected.shape[-1])
    a2 = actual.detach().reshape(-1, actual.shape[-1])
    max_d, scale, mismatched = 0.0, 0.0, 0
    for r0 in range(0, e2.shape[0], rows):
        e = e2[r0:r0 + rows].float()
        a = a2[r0:r0 + rows].float()
        fin = torch.isfinite(e)
        d = torch.where(fin, (a - e).abs(), torch.zeros_like(e))
        mismatched += int((torch.isnan(a) | (~fin & (a != e))).sum())
        max_d = max(max_d, float(torch.nan_to_num(d, nan=float("inf")).max()))
        scale = max(scale, float(torch.where(fin, e.abs(), torch.zeros_like(e)).max()))
    tol = rtol * scale + atol
    return {"ok": mismatched == 0 and max_d <= tol, "n": e2.numel(), "max_abs": max_d, "bad": mismatched,
            "tol": "%g*max|e|+%g = %.3g" % (rtol, atol, tol)}


def compare_exact(expected, actual):
    e = expected.detach().cpu().flatten()
    a = actual.detach().cpu().flatten()
    if e.numel() != a.numel() or e.dtype != a.dtype:
        return {"ok": False, "why": "shape/dtype %s %s vs %s %s" % (a.numel(), a.dtype, e.numel(), e.dtype)}
    bad = e != a
    r = {"ok": not bool(bad.any()), "n": e.numel(), "tol": "exact", "bad": int(bad.sum())}
    if bad.any():
        i = int(bad.nonzero()[0])
        r["first_bad"] = {"index": i, "expected": e[i].item(), "actual": a[i].item()}
    return r


def compare_scalars(expected, actual, rtol, atol):
    return compare(torch.tensor(expected, dtype=torch.float64), torch.tensor(actual, dtype=torch.float64), rtol, atol)


class Report:
    """Collects checks and timings; flushes everything to out_dir after each record."""

    def __init__(self, out_dir, name):
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = out_dir
        self.name = name
        self.t0 = time.time()
        self.log_file = open(os.path.join(out_dir, name + ".log"), "a", buffering=1)
        self.checks = []
        self.timings = []
        self.info = {}
        self.notes = []

    def elapsed(self):
        return time.time() - self.t0

    def log(self, msg):
        line = "[%6.1fs] %s" % (self.elapsed(), msg)
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def check(self, phase, name, result):
        result = dict(result)
        result.update(phase=phase, name=name)
        self.checks.append(result)
        status = "PASS" if result.get("ok") else "FAIL"
        detail = "max |d| %.3g (tol %s)" % (result.get("max_abs", 0.0), result.get("tol", "?"))
        if not result.get("ok"):
            detail += " %s" % ({k: result[k] for k in ("why", "bad", "first_bad", "error") if k in result},)
        self.log("%s %s %s: %s" % (status, phase, name, detail))
        self.flush()
        return result.get("ok", False)

    def failure(self, phase, name, error):
        return self.check(phase, name, {"ok": False, "error": str(error)})

    def timing(self, row):
        self.timings.append(row)
        self.log("TIME %s" % json.dumps(row))
        self.flush()

    def failed(self):
        return [c for c in self.checks if not c.get("ok")]

    def flush(self):
        data = {"info": self.info, "elapsed_s": round(self.elapsed(), 1), "checks": self.checks,
                "timings": self.timings, "notes": self.notes,
                "passed": sum(1 for c in self.checks if c.get("ok")), "failed": len(self.failed())}
        tmp = os.path.join(self.out_dir, self.name + ".json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, default=str)
        os.replace(tmp, os.path.join(self.out_dir, self.name + ".json"))
        with open(os.path.join(self.out_dir, self.name + ".md"), "w") as f:
            f.write(self.markdown())

    def markdown(self):
        lines = ["# vlmr1 CUDA check: %s" % self.name, ""]
        for k, v in self.info.items():
            lines.append("- %s: %s" % (k, v))
        lines += ["", "Correctness: %d passed, %d failed." % (len(self.checks) - len(self.failed()),
                                                            len(self.failed())), ""]
        phases = {}
        for c in self.checks:
            p = phases.setdefault(c["phase"], [0, 0])
            p[0 if c.get("ok") else 1] += 1
        if phases:
            lines += ["| phase | passed | failed |", "|---|---|---|"]
            lines += ["| %s | %d | %d |" % (k, v[0], v[1]) for k, v in phases.items()] + [""]
        if self.failed():
            lines += ["| phase | check | detail |", "|---|---|---|"]
            for c in self.failed():
                lines.append("| %s | %s | %s |" % (c["phase"], c["name"], {k: c[k] for k in
                                                                          ("why", "error", "first_bad", "tol")
                                                                          if k in c}))
            lines.append("")
        if self.timings:
            lines += timing_table(self.timings)
        lines += ["- " + n for n in self.notes]
        return "\n".join(lines) + "\n"


def timing_table(rows):
    out = ["| dtype | op | time (ms) | floor (ms) | x floor | target | PyTorch eager (ms) | speed-up | extra memory |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def f(key, fmt="%.3f"):
            v = r.get(key)
            return fmt % v if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)) else "-"
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r.get("dtype", "-"), r.get("op", "-"), f("ms"), f("floor_ms"), f("x_floor", "%.2fx"),
            r.get("target", "-"), f("eager_ms"), f("speedup", "%.1fx"), r.get("extra_memory", "-")))
    out.append("")
    return out
