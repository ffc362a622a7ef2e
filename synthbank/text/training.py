"""LoRA fine-tuning of a causal LM on (prompt, text) pairs, with the loss on the text only.

A plain PyTorch loop (AdamW; linear warm-up, then a linear decay over the planned steps or the time
budget, whichever ends first) over batches of similar length, so that little of each batch is padding
(about 1% on the demo bank, 3% on product reviews: packing examples together would save no more). Where
the processor computes in bfloat16 the forward and backward passes run under bf16 autocast (the adapter
and the optimizer stay in float32). A few held-out texts give a validation loss about eight times per
run; training stops when it has not improved for ``patience`` evaluations and the best adapter is kept.
With ``dp_epsilon`` the adapter is trained with DP-SGD instead (:mod:`synthbank.text.dp`).
It reports the tokens it trained on per second, the figure ``benchmarks/text.py`` prints.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.text.settings import LoraSettings, TrainingSettings

# the pieces of a training step the plain and the DP loop share (re-exported: they are this module's API too)
from synthbank.text.steps import IGNORE, Schedule, TrainingStats, pad_batch, planned_steps, token_losses  # noqa: F401

log = logging.getLogger(__name__)
# PEFT 0.21 calls a transformers method that transformers 5 deprecates; nothing for a user to act on.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

#: the longest sequence the data-driven length picks (prompt + text tokens)
MAX_AUTO_LENGTH = 512
#: validation: at most this many held-out texts, evaluated about this many times per run
MAX_VALIDATION, EVALUATIONS = 32, 8


def encode_examples(tokenizer, prompts: Sequence[str], texts: Sequence[str], max_length: int) -> tuple[list[tuple[list[int], list[int]]], int]:
    """Token ids and labels (prompt masked) per example, cut to ``max_length``; returns them and the number cut."""
    eos = tokenizer.eos_token_id
    prompt_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    text_ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    examples, truncated = [], 0
    for p, t in zip(prompt_ids, text_ids):
        ids = p + t + [eos]
        labels = [IGNORE] * len(p) + t + [eos]
        if len(ids) > max_length:
            truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
        examples.append((ids, labels))
    return examples, truncated


def data_length(tokenizer, prompts: Sequence[str], texts: Sequence[str], model_limit: int | None) -> int:
    """The training length the data asks for: the 99th percentile of prompt + text + end tokens, rounded up
    to a multiple of 8, at most :data:`MAX_AUTO_LENGTH` and the model's context."""
    lengths = [len(p) + len(t) + 1 for p, t in zip(tokenizer(list(prompts), add_special_tokens=False)["input_ids"],
                                                  tokenizer(list(texts), add_special_tokens=False)["input_ids"])]
    wanted = int(math.ceil(np.percentile(lengths, 99) / 8) * 8)
    return max(8, min(wanted, MAX_AUTO_LENGTH, model_limit or MAX_AUTO_LENGTH))


def balance_weights(groups: Sequence | None, balance: float) -> np.ndarray | None:
    """Per example, its chance of being drawn when each group (a value of the context column the texts depend
    on most) is drawn in proportion to its count to the power ``1 - balance``: 0 keeps the data's mix, 1 draws
    every group equally, 0.5 a group of 100 texts 3× as often as one of 900 is drawn 1×… (their square roots).
    None: no groups or no balancing (uniform)."""
    if groups is None or balance <= 0:
        return None
    codes, _ = pd.factorize(pd.Series(list(groups), dtype=object), use_na_sentinel=False)  # a missing value: a group
    counts = np.bincount(codes)
    if len(counts) < 2:
        return None
    weights = counts[codes].astype(float) ** -balance  # group share ∝ count^(1 - balance), shared by its texts
    return weights / weights.sum()


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
             weights: np.ndarray | None = None) -> list[np.ndarray]:
    """Batches of similar length: shuffle (or, with ``weights``, draw as many examples with those chances,
    with replacement), sort within windows of 50 batches, shuffle the batches."""
    if weights is None:
        order = rng.permutation(len(lengths))
    else:
        order = rng.choice(len(lengths), size=len(lengths), replace=True, p=weights)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def add_lora(model, settings: LoraSettings, seed: int):
    """Wrap ``model`` with fresh LoRA adapters (only they are trainable), their random start drawn from ``seed``
    (not from whatever torch's global generator holds, so two fits with one seed train the same adapter)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seeding.int_seed(seed, "lora init"))
    targets = settings.target_modules if isinstance(settings.target_modules, str) else list(settings.target_modules)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def autocast(enabled: bool, device):
    """bf16 autocast on ``device`` when ``enabled`` (a no-op context otherwise)."""
    import torch

    return torch.autocast(getattr(device, "type", str(device)), dtype=torch.bfloat16, enabled=enabled)


def _split_validation(count: int, settings: TrainingSettings, rng) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) example indices; no validation for fewer than 40 texts or under DP."""
    size = min(MAX_VALIDATION, int(count * settings.validation_share))
    if count < 40 or size < 4 or settings.dp_epsilon is not None:
        return np.arange(count), np.arange(0)
    order = rng.permutation(count)
    return np.sort(order[size:]), np.sort(order[:size])


def validation_loss(model, examples, pad: int, use_bf16: bool, batch_size: int = 8) -> float:
    """Mean loss per text token over ``examples`` (no gradients)."""
    import torch

    device = next(model.parameters()).device
    total, count = 0.0, 0
    model.eval()
    with torch.inference_mode(), autocast(use_bf16, device):
        for first in range(0, len(examples), batch_size):
            ids, labels, mask = pad_batch(examples[first:first + batch_size], pad)
            losses, counts = token_losses(model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits,
                                          labels.to(device))
            total += float(losses.sum())
            count += int(counts.sum())
    model.train()
    return total / max(1, count)


def train_lora(model, tokenizer, prompts: Sequence[str], texts: Sequence[str], settings: TrainingSettings,
               progress: Callable[[int, int, float], None] | None = None, *, max_length: int,
               use_bf16: bool = False, groups: Sequence | None = None) -> TrainingStats:
    """Train the LoRA adapters of ``model`` (a PEFT model) in place; ``progress(step, steps, loss)``.

    ``max_length``: the sequence length to cut at (``settings.max_length``, or :func:`data_length`).
    ``groups``: per text, the value its batches are balanced on (``settings.context_balance``; not under DP,
    whose privacy accounting assumes every text has the same chance of being drawn)."""
    import torch

    torch.manual_seed(seeding.int_seed(settings.seed, "torch"))
    rng = seeding.rng(settings.seed, "batches")
    examples, truncated = encode_examples(tokenizer, prompts, texts, max_length)
    if truncated:  # the data-driven length cuts about 1% by design: news only when more are cut
        level = logging.WARNING if truncated > max(1, 0.05 * len(examples)) else logging.INFO
        log.log(level, "%d of %d texts are longer than %d tokens with their prompt and were truncated for training "
                "(TextSettings.training.max_length sets the length)", truncated, len(examples), max_length)
    if settings.dp_epsilon is not None:
        from synthbank.text.dp import train_lora_dp

        return train_lora_dp(model, tokenizer, examples, settings, progress, max_length=max_length, truncated=truncated)

    train_index, valid_index = _split_validation(len(examples), settings, seeding.rng(settings.seed, "validation"))
    held_out = [examples[i] for i in valid_index]
    examples = [examples[i] for i in train_index]
    lengths = np.array([len(ids) for ids, _ in examples])
    weights = balance_weights(None if groups is None else [groups[i] for i in train_index], settings.context_balance)
    steps = planned_steps(len(examples), settings)
    plan: list[np.ndarray] = []
    while len(plan) < steps:
        plan += _batches(lengths, settings.batch_size, rng, weights)

    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    max_seconds = settings.max_minutes * 60 if settings.max_minutes is not None else None
    schedule = Schedule(steps, settings.warmup_share, max_seconds)
    pad = tokenizer.pad_token_id
    every = max(1, steps // EVALUATIONS)
    best, best_state, since_best, stopped, evaluated = math.inf, None, 0, "steps", 0

    def evaluate() -> bool:
        """Score the held-out texts; keep the adapter if it is the best yet; True when patience ran out."""
        nonlocal best, best_state, since_best, evaluated
        evaluated = done
        loss = validation_loss(model, held_out, pad, use_bf16)
        log.info("step %d/%d: training loss %.3f, validation loss %.3f", done, steps, loss_value, loss)
        if loss < best:
            best, since_best = loss, 0
            best_state = [p.detach().clone() for p in trainable]
            return False
        since_best += 1
        return since_best >= settings.patience

    model.train()
    tokens, loss_value, done = 0, float("nan"), 0
    for step in range(steps):
        if schedule.over(step):
            stopped = "time"
            break
        if max_seconds is not None and step == 3:  # evaluate about EVALUATIONS times within the budget too
            expected = min(steps, int(max_seconds / ((time.perf_counter() - schedule.start) / 3)))
            every = max(1, expected // EVALUATIONS)
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate * schedule.factor(step)
        ids, labels, mask = pad_batch([examples[i] for i in plan[step]], pad)
        with autocast(use_bf16, device):
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        loss_value = float(out.loss.detach())
        done = step + 1
        if progress:
            progress(done, steps, loss_value)
        if held_out and done % every == 0 and evaluate():
            stopped = "early"
            break
    if held_out and done and evaluated != done:  # the last steps count too
        evaluate()
    if best_state is not None:  # the adapter with the lowest validation loss
        with torch.no_grad():
            for p, saved in zip(trainable, best_state):
                p.copy_(saved)
    model.eval()
    return TrainingStats(len(examples), done, tokens, time.perf_counter() - schedule.start, loss_value, truncated,
                         max_length, None if best == math.inf else best, stopped, use_bf16)
