"""The PyTorch oracle of the CUDA check: the math of org.vlmr1.kernels.CompositeKernels (and TensorSampler's draw,
the image processors' Java references) in PyTorch, device-agnostic, so it checks our CUDA twins at shapes too large
for goldens. Validated on the CPU against the goldens the Java composites wrote (check.py --oracle-only).

Like the composites, it works in row chunks (no (N, V) float32 temporary beyond one chunk), upcasts bf16 logits to
float32 chunk by chunk, divides by the temperature in float32, and takes the loss gradient from autograd.
"""
import torch

LOSS_GRPO, LOSS_BNPO, LOSS_DR_GRPO, LOSS_DAPO = 0, 1, 2, 3
SCALE_GROUP, SCALE_BATCH, SCALE_NONE = 0, 1, 2

# False: x / T, as the composites. True: x * float32(1 / T), as the native kernels (CPU and CUDA) scale. The two round
# differently where |x / T| is large (one float32 ulp of 1e4 is 1e-3), which check.py's scaling_slack measures.
INVERSE_SCALING = False


def _chunk_rows(elements, v):
    return max(1, elements // max(1, v))


def _scale(z, temperature):
    """float32 z / T (CompositeKernels.scaledRows), or z * float32(1 / T) under INVERSE_SCALING."""
    if temperature == 1.0:
        return z
    if INVERSE_SCALING:
        return z * torch.tensor(1.0 / temperature, dtype=torch.float32, device=z.device)
    return z / temperature


def _scaled(rows, temperature):
    """(len, V) float32 logits / T (CompositeKernels.scaledRows)."""
    return _scale(rows.float(), temperature)


def _entropy(lsm):
    p = lsm.exp()
    return -torch.special.xlogy(p, p).sum(1)


def token_logprobs(logits, targets, temperature, chunk_elements=1 << 19):
    """(N, V) logits, (N) int64 targets -> ((N) float32 log-probs, (N) float32 entropies)."""
    n, v = logits.shape
    lp = torch.empty(n, dtype=torch.float32, device=logits.device)
    ent = torch.empty(n, dtype=torch.float32, device=logits.device)
    step = _chunk_rows(chunk_elements, v)
    with torch.no_grad():
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            lsm = torch.log_softmax(_scaled(logits[r0:r1], temperature), 1)
            lp[r0:r1] = lsm.gather(1, targets[r0:r1].unsqueeze(1)).squeeze(1)
            ent[r0:r1] = _entropy(lsm)
    return lp, ent


def _std(x, dim=None, keepdim=False):
    """Unbiased (n - 1) std: `correction` where this PyTorch has it (2.x), else the older `unbiased` flag."""
    dims = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    try:
        return torch.std(x, correction=1, **dims)
    except TypeError:
        return torch.std(x, unbiased=True, **dims)


def group_advantages(rewards, group_size, scale):
    """CompositeKernels.groupAdvantages: torch's mean and unbiased std, + 1e-4."""
    r = rewards.float().reshape(-1, group_size)
    if group_size == 1:
        return torch.zeros_like(rewards.float())
    centred = r - r.mean(1, keepdim=True)
    if scale == SCALE_GROUP:
        a = centred / (_std(r, 1, keepdim=True) + 1e-4)
    elif scale == SCALE_BATCH:
        a = centred / (_std(r.flatten()) + 1e-4)
    else:
        a = centred
    return a.reshape(-1).contiguous()


class NonFiniteLogProb(ValueError):
    pass


def _check_finite(which, logps, on):
    bad = (~torch.isfinite(logps)) & on
    if bool(bad.any()):
        raise NonFiniteLogProb("grpo_loss: non-finite %s log-prob at unmasked token %d"
                               % (which, int(bad.flatten().nonzero()[0])))


def grpo_loss(logits, ids, mask, adv, old, ref, cfg, grad_out=None, chunk_elements=1 << 20):
    """CompositeKernels.grpoLoss. logits (B, T, V) f32/bf16; ids (B, T) int64; mask (B, T); adv (B); old, ref (B, T)
    or None. cfg: dict with epsilon_low, epsilon_high, beta, temperature, loss_type, max_completion_length,
    dapo_token_count, loss_scale. Returns (loss, [kl, entropy, low, high, region], logp (B, T), grad (B, T, V))."""
    b, t, v = logits.shape
    n = b * t
    temperature = cfg["temperature"]
    rows = logits.detach().reshape(n, v)
    flat_ids = ids.reshape(n)
    step = _chunk_rows(chunk_elements, v)
    lp_rows = torch.empty(n, dtype=torch.float32, device=logits.device)
    ent_rows = torch.empty(n, dtype=torch.float32, device=logits.device)
    with torch.no_grad():
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            lsm = torch.log_softmax(_scaled(rows[r0:r1], temperature), 1)
            lp_rows[r0:r1] = lsm.gather(1, flat_ids[r0:r1].unsqueeze(1)).squeeze(1)
            ent_rows[r0:r1] = _entropy(lsm)
    lp = lp_rows.reshape(b, t).detach().requires_grad_(True)
    m = mask.float()
    on = m != 0
    _check_finite("policy", lp.detach(), on)
    if old is not None:
        _check_finite("old", old, on)
    if cfg["beta"] != 0:
        _check_finite("reference", ref, on)
    zero = torch.zeros((), device=logits.device)
    lp_safe = torch.where(on, lp, zero)
    old_t = torch.where(on, old, zero) if old is not None else lp_safe.detach()
    ratio = (lp_safe - old_t).exp()
    clipped = torch.clamp(ratio, 1 - cfg["epsilon_low"], 1 + cfg["epsilon_high"])
    a = adv.float().unsqueeze(1)
    per_token = -torch.minimum(ratio * a, clipped * a)
    kl = None
    if cfg["beta"] != 0:
        delta = torch.where(on, ref, zero) - lp_safe
        kl = delta.exp() - delta - 1
        per_token = per_token + kl * cfg["beta"]
    masked = per_token * m
    lt = cfg["loss_type"]
    if lt == LOSS_GRPO:
        loss = (masked.sum(1) / m.sum(1).clamp_min(1)).mean()
    elif lt == LOSS_BNPO:
        loss = masked.sum() / m.sum().clamp_min(1)
    elif lt == LOSS_DR_GRPO:
        loss = masked.sum() / (float(b) * cfg["max_completion_length"])
    elif lt == LOSS_DAPO:
        count = cfg["dapo_token_count"]
        loss = masked.sum() / (torch.tensor(float(count), device=logits.device) if count > 0
                               else m.sum().clamp_min(1))
    else:
        raise ValueError("unknown loss type %r" % (lt,))
    loss = loss * cfg["loss_scale"]
    loss.backward()
    dlogp = lp.grad.reshape(n)
    out = grad_out if grad_out is not None else torch.empty_like(logits)
    out_rows = out.view(n, v)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        xc = rows[r0:r1].float() if rows.dtype != torch.float32 else rows[r0:r1].detach()
        xc.requires_grad_(True)
        z = _scale(xc, temperature)
        lpc = torch.log_softmax(z, 1).gather(1, flat_ids[r0:r1].unsqueeze(1)).squeeze(1)
        lpc.backward(dlogp[r0:r1])
        out_rows[r0:r1] = xc.grad
    with torch.no_grad():
        msum = m.sum().clamp_min(1)
        ent = float((ent_rows.reshape(b, t) * m).sum() / msum)
        kl_mean = 0.0 if kl is None else float((kl.detach() * m).sum() / msum)
        r = ratio.detach()
        low = (r < 1 - cfg["epsilon_low"]) & (a < 0)
        high = (r > 1 + cfg["epsilon_high"]) & (a > 0)
        metrics = [kl_mean, ent, float((low.float() * m).sum() / msum), float((high.float() * m).sum() / msum),
                   float(((low | high).float() * m).sum() / msum)]
    return float(loss.detach()), metrics, lp.detach().contiguous(), out


def qwen_patchify(rgb, mean, std):
    """(h, w, 3) uint8 -> (h/14 * w/14, 1176) float32: float32(u8 * (1/255) in double), (x - mean) / std in float32,
    rows in 2x2 merge-block order, columns (channel, frame, y, x) with the image in both frames."""
    h, w, _ = rgb.shape
    x = (rgb.double() * (1.0 / 255)).float().permute(2, 0, 1)          # (3, H, W)
    x = (x - mean.float().view(3, 1, 1)) / std.float().view(3, 1, 1)
    gh, gw = h // 14, w // 14
    p = x.reshape(3, gh // 2, 2, 14, gw // 2, 2, 14).permute(1, 4, 2, 5, 0, 3, 6)  # (bh, bw, mh, mw, c, y, x)
    p = p.unsqueeze(5).expand(gh // 2, gw // 2, 2, 2, 3, 2, 14, 14)
    return p.reshape(gh * gw, 1176).contiguous()


def internvl_tiles(rgb, cols, rows, size, mean, std):
    """(rows*size, cols*size, 3) uint8 -> (rows*cols, 3, size, size) float32: (float32(u8) / 255f - mean) / std."""
    x = rgb.float() / torch.tensor(255.0, dtype=torch.float32, device=rgb.device)
    x = (x - mean.float()) / std.float()                                # (H, W, 3)
    t = x.reshape(rows, size, cols, size, 3).permute(0, 2, 4, 1, 3)     # (rows, cols, 3, y, x)
    return t.reshape(rows * cols, 3, size, size).contiguous()


def top_p_filter(w, top_p):
    """TensorSampler.next's top-p step: w (rows, K) double in id order -> w with the entries outside each row's
    nucleus set to 0. Sorted descending with ties larger id first (a stable ascending sort, flipped); an entry keeps
    its weight while the running sum of desc / W before it is below top_p. Both sums are cumsums: sequential on the
    CPU, which is the definition; on CUDA torch's cumsum is a parallel scan (compare the kernel with this on the CPU)."""
    k = w.shape[1]
    total = w.cumsum(1)[:, k - 1:k]
    values, order = torch.sort(w, dim=1, stable=True)
    desc, order = values.flip(1), order.flip(1)
    cum = (desc / total).cumsum(1)
    before = torch.cat([torch.zeros_like(cum[:, :1]), cum[:, :k - 1]], 1)
    keep = torch.zeros_like(before, dtype=torch.bool).scatter(1, order, before < top_p)
    return w.masked_fill(~keep, 0.0)


def sample_draw(w, u):
    """TensorSampler.next's inverse-CDF step: w (rows, K) double, u (rows) double -> (rows) int64 positions."""
    k = w.shape[1]
    cdf = w.cumsum(1)
    target = u.double().unsqueeze(1) * cdf[:, k - 1:k]
    first = (cdf <= target).sum(1)
    ids = torch.arange(k, device=w.device).unsqueeze(0).expand_as(w)
    last = ids.masked_fill(w <= 0, -1).amax(1).clamp_min(0)
    return torch.where(first < k, first, last)
