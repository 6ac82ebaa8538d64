"""The PyTorch eager baselines of the timing table: TRL 0.17's selective_log_softmax (trl/trainer/utils.py) and
VLM-R1's GRPO loss (open-r1-multimodal grpo_trainer.py compute_loss, TRL 0.17 form: temperature division, old
log-probs, two-sided epsilon, k3 KL, the "grpo" per-sequence mean), forward and backward through autograd."""
import torch
import torch.nn.functional as F


def selective_log_softmax(logits, index):
    """TRL 0.17: gather - logsumexp in float32/64, a row-by-row log_softmax otherwise (bf16 logsumexp is unstable);
    both loop over the batch to cap peak memory."""
    if logits.dtype in [torch.float32, torch.float64]:
        selected_logits = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        logsumexp_values = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        return selected_logits - logsumexp_values
    per_token_logps = []
    for row_logits, row_labels in zip(logits, index):
        row_logps = F.log_softmax(row_logits, dim=-1)
        per_token_logps.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
    return torch.stack(per_token_logps)


def token_logprobs(logits, ids, temperature):
    """TRL's _get_per_token_logps tail: logits / temperature, then selective_log_softmax. (B, T, V) -> (B, T)."""
    with torch.no_grad():
        return selective_log_softmax(logits / temperature, ids)


def grpo_loss_backward(logits, ids, mask, adv, old, ref, beta, epsilon_low, epsilon_high, temperature):
    """VLM-R1's loss on leaf logits (requires_grad) and its backward; returns the loss (the gradient is in .grad)."""
    per_token_logps = selective_log_softmax(logits / temperature, ids)
    per_token_kl = None
    if beta != 0.0:
        per_token_kl = torch.exp(ref - per_token_logps) - (ref - per_token_logps) - 1
    old_per_token_logps = old if old is not None else per_token_logps.detach()
    coef_1 = torch.exp(per_token_logps - old_per_token_logps)
    coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
    per_token_loss1 = coef_1 * adv.unsqueeze(1)
    per_token_loss2 = coef_2 * adv.unsqueeze(1)
    per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
    if beta != 0.0:
        per_token_loss = per_token_loss + beta * per_token_kl
    loss = ((per_token_loss * mask).sum(dim=1) / mask.sum(dim=1)).mean()
    loss.backward()
    with torch.no_grad():  # the metrics VLM-R1 logs (ours computes them too)
        if per_token_kl is not None:
            ((per_token_kl * mask).sum(dim=1) / mask.sum(dim=1)).mean()
        is_clipped = (per_token_loss1 < per_token_loss2).float()
        (is_clipped * mask).sum() / mask.sum()
    return loss
