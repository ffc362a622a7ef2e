"""The pieces of a LoRA training step that the plain loop (:mod:`synthbank.text.training`) and the DP-SGD
loop (:mod:`synthbank.text.dp`) share: padded batches, per-token losses, the learning-rate schedule, the
planned number of steps and the statistics a run reports. Both loops import them from here, so neither
imports the other's module at load time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from synthbank.text.settings import TrainingSettings

#: The label of a token the loss ignores (prompt and padding).
IGNORE = -100


@dataclass
class TrainingStats:
    examples: int
    steps: int
    tokens: int  # non-padding tokens seen (prompt + text)
    seconds: float
    final_loss: float
    truncated: int  # examples cut to max_length
    max_length: int = 0
    validation_loss: float | None = None  # best held-out loss (None: no validation)
    stopped: str = "steps"  # steps | time | early (validation loss stopped improving) | budget (DP epsilon spent)
    bfloat16: bool = False
    dp: dict | None = None  # {"epsilon", "delta", "noise_multiplier", "max_grad_norm", "sample_rate"} under DP

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def pad_batch(examples: Sequence[tuple[list[int], list[int]]], pad: int):
    """``(input_ids, labels, attention_mask)`` tensors for a batch, right-padded to its longest example."""
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (example_ids, example_labels) in enumerate(examples):
        ids[row, :len(example_ids)] = torch.tensor(example_ids)
        labels[row, :len(example_labels)] = torch.tensor(example_labels)
        mask[row, :len(example_ids)] = 1
    return ids, labels, mask


class Schedule:
    """Linear warm-up, then a linear decay to zero at the end of the run: the planned steps or the time
    budget, whichever comes first (progress is the larger of the two shares)."""

    def __init__(self, steps: int, warmup_share: float, max_seconds: float | None):
        self.steps, self.max_seconds = steps, max_seconds
        self.warmup_share = warmup_share
        self.warmup = max(1, min(20, round(warmup_share * steps)))
        self.start = time.perf_counter()

    def progress(self, step: int) -> float:
        """Share of the run done before ``step`` (0-based)."""
        share = step / self.steps
        if self.max_seconds is not None:
            share = max(share, (time.perf_counter() - self.start) / self.max_seconds)
        return min(1.0, share)

    def factor(self, step: int) -> float:
        done = self.progress(step)
        return max(0.0, min(1.0, (step + 1) / self.warmup, (1 - done) / (1 - self.warmup_share)))

    def over(self, step: int) -> bool:
        return self.progress(step) >= 1.0


def planned_steps(examples: int, settings: TrainingSettings, batch_size: int | None = None) -> int:
    per_epoch = math.ceil(examples / (batch_size or settings.batch_size))
    steps = max(1, math.ceil(per_epoch * settings.epochs), settings.min_steps)
    return min(steps, settings.max_steps) if settings.max_steps is not None else steps


def token_losses(logits, labels):
    """Per text token of each row, the loss of predicting it from the tokens before (0 where the label is
    ignored: prompt and padding), and each row's number of text tokens."""
    import torch

    targets = labels[:, 1:]
    losses = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets,
                                               ignore_index=IGNORE, reduction="none")
    return losses, (targets != IGNORE).sum(1)
