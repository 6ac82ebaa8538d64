"""ctypes bindings of libvlmr1cuda.so, the C ABI of src/main/native/cuda/vlmr1_cuda.h, over PyTorch CUDA tensors.

Every array argument is a device pointer (tensor.data_ptr()); each call enqueues on the current PyTorch stream and
returns without synchronising; a nonzero return raises KernelError with vlmr1_cuda_last_error()'s message.
With HOST = True the library is the CPU emulation (src/test/cuda/emu): arguments are CPU tensors, the stream null.
"""
import ctypes

import torch

DTYPE_CODES = {torch.float32: 0, torch.bfloat16: 1}

_p = ctypes.c_void_p
_i64 = ctypes.c_int64
_int = ctypes.c_int
_dbl = ctypes.c_double

HOST = False  # True: the library is the CPU emulation of the kernels, which takes host pointers

_SIGNATURES = {
    "vlmr1_cuda_last_error": ([], ctypes.c_char_p),
    "vlmr1_cuda_version": ([], ctypes.c_char_p),
    "vlmr1_cuda_token_logprobs": ([_p, _int, _p, _i64, _i64, _dbl, _p, _p, _p], _int),
    "vlmr1_cuda_group_advantages": ([_p, _i64, _i64, _int, _p, _p], _int),
    "vlmr1_cuda_grpo_loss_rows": ([_p, _int, _p, _i64, _i64, _i64, _i64, _i64, _p, _p, _p, _p, _p, _dbl, _dbl, _dbl,
                                   _dbl, _int, _i64, _dbl, _dbl, _p, _p, _p], _int),
    "vlmr1_cuda_grpo_loss_reduce": ([_i64, _p, _p, _p, _p], _int),
    "vlmr1_cuda_sample_draw": ([_p, _p, _i64, _i64, _p, _p], _int),
    "vlmr1_cuda_top_p_filter": ([_p, _p, _p, _i64, _i64, _dbl, _p, _p], _int),
    "vlmr1_cuda_qwen_patchify": ([_p, _i64, _i64, _p, _p, _p, _p], _int),
    "vlmr1_cuda_internvl_tiles": ([_p, _i64, _i64, _i64, _p, _p, _p, _p], _int),
}


class KernelError(RuntimeError):
    def __init__(self, fn, code, message):
        super().__init__("%s returned %d: %s" % (fn, code, message))
        self.code = code


def _ptr(t):
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def _stream():
    return None if HOST else ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)


class CudaLib:
    """The shared library's kernels as Python methods taking CUDA tensors (checked contiguous, on one device)."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        for name, (args, res) in _SIGNATURES.items():
            fn = getattr(self.lib, name)  # AttributeError names a missing symbol: an ABI mismatch
            fn.argtypes = args
            fn.restype = res

    def version(self):
        return self.lib.vlmr1_cuda_version().decode()

    def last_error(self):
        return self.lib.vlmr1_cuda_last_error().decode()

    def _call(self, name, *args):
        rc = getattr(self.lib, name)(*args)
        if rc != 0:
            raise KernelError(name, rc, self.last_error())

    @staticmethod
    def _dev(*tensors):
        for t in tensors:
            if t is not None and (t.is_cuda == HOST or not t.is_contiguous()):
                raise ValueError("kernel arguments must be contiguous %s tensors" % ("CPU" if HOST else "CUDA"))

    def token_logprobs(self, logits, targets, temperature, out_logp, out_entropy=None):
        self._dev(logits, targets, out_logp, out_entropy)
        rows, vocab = logits.shape
        self._call("vlmr1_cuda_token_logprobs", _ptr(logits), DTYPE_CODES[logits.dtype], _ptr(targets), rows, vocab,
                   float(temperature), _ptr(out_logp), _ptr(out_entropy), _stream())

    def group_advantages(self, rewards, group_size, scale, out):
        self._dev(rewards, out)
        self._call("vlmr1_cuda_group_advantages", _ptr(rewards), rewards.numel(), group_size, scale, _ptr(out),
                   _stream())

    def grpo_loss_rows(self, logits_rows, grad_rows, row_begin, batch, seq_len, targets, mask, adv, old, ref, cfg,
                       out_logp, token_stats, dtype=None):
        """logits_rows / grad_rows: the (row_count, V) rows [row_begin, row_begin + row_count) (grad may alias the
        logits or be None); every per-token tensor spans the whole (B*T) batch."""
        self._dev(logits_rows, grad_rows, targets, mask, adv, old, ref, out_logp, token_stats)
        row_count, vocab = logits_rows.shape
        code = DTYPE_CODES[logits_rows.dtype] if dtype is None else dtype
        self._call("vlmr1_cuda_grpo_loss_rows", _ptr(logits_rows), code, _ptr(grad_rows), row_begin, row_count,
                   vocab, batch, seq_len, _ptr(targets), _ptr(mask), _ptr(adv), _ptr(old), _ptr(ref),
                   float(cfg["epsilon_low"]), float(cfg["epsilon_high"]), float(cfg["beta"]),
                   float(cfg["temperature"]), int(cfg["loss_type"]), int(cfg["max_completion_length"]),
                   float(cfg["dapo_token_count"]), float(cfg["loss_scale"]), _ptr(out_logp), _ptr(token_stats),
                   _stream())

    def grpo_loss_reduce(self, mask, token_stats, out7):
        self._dev(mask, token_stats, out7)
        self._call("vlmr1_cuda_grpo_loss_reduce", mask.numel(), _ptr(mask), _ptr(token_stats), _ptr(out7),
                   _stream())

    def sample_draw(self, w, u, out_pos):
        self._dev(w, u, out_pos)
        rows, k = w.shape
        self._call("vlmr1_cuda_sample_draw", _ptr(w), _ptr(u), rows, k, _ptr(out_pos), _stream())

    def top_p_filter(self, w, desc, order, top_p, out):
        self._dev(w, desc, order, out)
        rows, k = w.shape
        self._call("vlmr1_cuda_top_p_filter", _ptr(w), _ptr(desc), _ptr(order), rows, k, float(top_p), _ptr(out),
                   _stream())

    def qwen_patchify(self, rgb, mean, std, out):
        self._dev(rgb, mean, std, out)
        h, w, _ = rgb.shape
        self._call("vlmr1_cuda_qwen_patchify", _ptr(rgb), h, w, _ptr(mean), _ptr(std), _ptr(out), _stream())

    def internvl_tiles(self, rgb, cols, rows, size, mean, std, out):
        self._dev(rgb, mean, std, out)
        self._call("vlmr1_cuda_internvl_tiles", _ptr(rgb), cols, rows, size, _ptr(mean), _ptr(std), _ptr(out),
                   _stream())


def grpo_loss(lib, logits, ids, mask, adv, old, ref, cfg, grad=None, splits=1):
    """Our full loss on (B, T, V) logits: the rows kernel (in `splits` row ranges) then the reduce. Returns
    (loss, [kl, entropy, low, high, region], nonfinite count, logp (B, T), grad or None)."""
    b, t, v = logits.shape
    n = b * t
    dev = logits.device
    rows = logits.view(n, v)
    grad_rows = grad.view(n, v) if grad is not None else None
    mask_f = mask.float().contiguous().view(n)
    out_logp = torch.empty(n, dtype=torch.float32, device=dev)
    stats = torch.empty(n, 4, dtype=torch.float32, device=dev)
    out7 = torch.empty(7, dtype=torch.float64, device=dev)
    ids_f = ids.contiguous().view(n)
    old_f = old.contiguous().view(n) if old is not None else None
    ref_f = ref.contiguous().view(n) if ref is not None and cfg["beta"] != 0 else None
    bounds = [n * i // splits for i in range(splits + 1)]
    for r0, r1 in zip(bounds, bounds[1:]):
        if r1 > r0:
            lib.grpo_loss_rows(rows[r0:r1], grad_rows[r0:r1] if grad_rows is not None else None, r0, b, t, ids_f,
                               mask_f, adv.float().contiguous(), old_f, ref_f, cfg, out_logp, stats)
    lib.grpo_loss_reduce(mask_f, stats, out7)
    o = out7.cpu().tolist()
    return o[0], o[1:6], int(o[6]), out_logp.view(b, t), grad


def abi_mismatches(header_path):
    """The differences between _SIGNATURES and the prototypes of vlmr1_cuda.h (argument and return types), so a
    change of the C ABI fails the CPU-side check before any GPU run. An empty list means they agree."""
    import re
    with open(header_path) as f:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)
    kinds = {"int64_t": _i64, "int": _int, "double": _dbl}
    found = {}
    for ret, name, params in re.findall(r"(const char\s*\*|int)\s+(vlmr1_cuda_\w+)\s*\(([^)]*)\)\s*;", text):
        args = []
        for p in [p.strip() for p in params.split(",") if p.strip() and p.strip() != "void"]:
            base = re.sub(r"\b(const|unsigned)\b", "", p.rsplit(None, 1)[0] if "*" not in p else p.split("*")[0])
            args.append(_p if "*" in p else kinds.get(base.strip()))
        found[name] = (args, ctypes.c_char_p if "char" in ret else _int)
    problems = ["%s is in the header but not bound" % n for n in found if n not in _SIGNATURES]
    problems += ["%s is bound but not in the header" % n for n in _SIGNATURES if n not in found]
    for n in set(found) & set(_SIGNATURES):
        if found[n] != _SIGNATURES[n]:
            problems.append("%s: header %s, bound %s" % (n, found[n], _SIGNATURES[n]))
    return problems
