"""Differentially private LoRA training (DP-SGD with Opacus).

Every step draws a Poisson sample of the texts (each one in with probability ``q = dp_batch_size / n``),
computes each text's own gradient of its own mean token loss (Opacus' ``GradSampleModule`` on the
adapter's linear layers), clips it to ``dp_max_grad_norm``, adds Gaussian noise of
``dp_noise_multiplier × dp_max_grad_norm`` to the sum and steps (Opacus' ``DPOptimizer``). Opacus' RDP
accountant tracks the (ε, δ) spent; the noise is the least that keeps ε within ``dp_epsilon`` over the planned
steps, and training stops before a step would spend more. The guarantee covers the adapter's weights
with respect to any one training text (one row). Nothing here looks at held-out texts, so there is no
validation loss or early stopping under DP; the time budget still applies.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from synthbank import seeding
from synthbank.errors import TextModelError
from synthbank.text.settings import TrainingSettings
from synthbank.text.steps import Schedule, TrainingStats, pad_batch, planned_steps, token_losses

log = logging.getLogger(__name__)
# Opacus' accountant notes when its largest RDP order was the best (a slightly loose, still valid bound), and
# torch notes that the frozen embeddings need no input gradients: neither is for a user to act on.
warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
warnings.filterwarnings("ignore", message="Full backward hook is firing")


def noise_for_budget(epsilon: float, delta: float, sample_rate: float, steps: int) -> float:
    """The least noise multiplier whose RDP accounting stays within ``epsilon`` after ``steps`` steps."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(get_noise_multiplier(target_epsilon=epsilon, target_delta=delta, sample_rate=sample_rate,
                                      steps=steps, accountant="rdp", epsilon_tolerance=0.01))


def spent_epsilon(noise: float, sample_rate: float, steps: int, delta: float) -> float:
    """ε of ``steps`` Poisson-sampled Gaussian steps by the RDP accountant."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise, sample_rate, steps)] if steps else []
    return float(accountant.get_epsilon(delta)) if steps else 0.0


def _per_text_loss(model, ids, labels, mask):
    """Sum over the batch of each text's mean token loss (so each text's gradient is its own)."""
    losses, counts = token_losses(model(input_ids=ids, attention_mask=mask).logits, labels)
    return (losses.sum(1) / counts.clamp(min=1)).sum()


def train_lora_dp(model, tokenizer, examples: Sequence[tuple[list[int], list[int]]], settings: TrainingSettings,
                  progress: Callable[[int, int, float], None] | None = None, *, max_length: int,
                  truncated: int) -> TrainingStats:
    """Train the LoRA adapters of ``model`` in place with DP-SGD; the stats hold the (ε, δ) spent."""
    import torch
    from opacus import GradSampleModule
    from opacus.accountants import RDPAccountant
    from opacus.optimizers import DPOptimizer

    n = len(examples)
    expected = min(settings.dp_batch_size, n)
    sample_rate = expected / n
    steps = planned_steps(n, settings, expected)
    epsilon, delta = settings.dp_epsilon, settings.dp_delta
    if delta >= 1 / n:
        log.warning("DP delta %.2g is not below 1/n = %.2g for %d texts: the guarantee is weak", delta, 1 / n, n)
    noise = settings.dp_noise_multiplier or noise_for_budget(epsilon, delta, sample_rate, steps)
    if spent_epsilon(noise, sample_rate, 1, delta) > epsilon:
        raise TextModelError(f"A DP budget of epsilon {epsilon:g} does not allow one training step with noise {noise:g} "
                             f"on {n} texts: raise the epsilon or the noise multiplier.")

    device = next(model.parameters()).device
    wrapped = GradSampleModule(model, batch_first=True, loss_reduction="sum")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = DPOptimizer(torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0),
                            noise_multiplier=noise, max_grad_norm=settings.dp_max_grad_norm,
                            expected_batch_size=expected, loss_reduction="sum",
                            generator=torch.Generator().manual_seed(seeding.int_seed(settings.seed, "dp noise")))
    accountant = RDPAccountant()
    optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=sample_rate))
    rng = seeding.rng(settings.seed, "dp batches")
    max_seconds = settings.max_minutes * 60 if settings.max_minutes is not None else None
    schedule = Schedule(steps, settings.warmup_share, max_seconds)
    pad = tokenizer.pad_token_id
    tokens, loss_value, done, stopped = 0, float("nan"), 0, "steps"
    model.train()
    for step in range(steps):
        if schedule.over(step):
            stopped = "time"
            break
        if spent_epsilon(noise, sample_rate, done + 1, delta) > epsilon:
            stopped = "budget"
            break
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate * schedule.factor(step)
        batch = np.flatnonzero(rng.random(n) < sample_rate)
        if len(batch):
            # the Poisson sample goes through in physical pieces of batch_size texts (by length, for less
            # padding): per-text gradients of a whole sample of long texts do not fit in memory. Each piece
            # is clipped and summed; only the last adds the noise and steps (Opacus' BatchMemoryManager way).
            batch = batch[np.argsort([len(examples[i][0]) for i in batch], kind="stable")]
            pieces = [batch[i:i + settings.batch_size] for i in range(0, len(batch), settings.batch_size)]
            total = 0.0
            for number, piece in enumerate(pieces):
                ids, labels, mask = pad_batch([examples[i] for i in piece], pad)
                loss = _per_text_loss(wrapped, ids.to(device), labels.to(device), mask.to(device))
                loss.backward()
                tokens += int(mask.sum())
                total += float(loss.detach())
                if number < len(pieces) - 1:
                    optimizer.signal_skip_step(do_skip=True)
                    optimizer.step()  # clip and accumulate only
                    optimizer.zero_grad(set_to_none=True)  # keeps the summed clipped gradients
            loss_value = total / len(batch)
            optimizer.step()  # clip the last piece, add noise to the sum, step; the accountant counts it
        else:  # an empty Poisson sample (no text at all): no update, counted as a step all the same
            accountant.step(noise_multiplier=noise, sample_rate=sample_rate)
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        if progress:
            progress(done, steps, loss_value)
    wrapped.cleanup()  # remove Opacus' hooks and per-text gradients; the adapter weights stay trained
    model.eval()
    spent = float(accountant.get_epsilon(delta)) if done else 0.0
    dp = {"epsilon": spent, "delta": delta, "target_epsilon": epsilon, "noise_multiplier": noise,
          "max_grad_norm": settings.dp_max_grad_norm, "sample_rate": sample_rate, "steps": done}
    log.info("DP training: epsilon %.2f of %.2f spent (delta %g, noise %.2f, %d steps)", spent, epsilon, delta, noise, done)
    return TrainingStats(n, done, tokens, time.perf_counter() - schedule.start, loss_value, truncated, max_length,
                         None, stopped, False, dp)
