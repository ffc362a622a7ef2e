"""LoRA fine-tuning of a causal LM on (prompt, text) pairs, with the loss on the text only.

A plain PyTorch loop (AdamW, linear warm-up and decay) over batches of similar length, so that little of
each batch is padding. It reports the tokens it trained on per second, the figure ``benchmarks/text.py``
prints.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from synthbank import seeding
from synthbank.text.settings import LoraSettings, TrainingSettings

log = logging.getLogger(__name__)
# PEFT 0.21 calls a transformers method that transformers 5 deprecates; nothing for a user to act on.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

IGNORE = -100


@dataclass
class TrainingStats:
    examples: int
    steps: int
    tokens: int  # non-padding tokens seen (prompt + text)
    seconds: float
    final_loss: float
    truncated: int  # examples cut to max_length

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


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


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length: shuffle, sort within windows of 50 batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def add_lora(model, settings: LoraSettings):
    """Wrap ``model`` with fresh LoRA adapters (only they are trainable)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=list(settings.target_modules), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def train_lora(model, tokenizer, prompts: Sequence[str], texts: Sequence[str], settings: TrainingSettings,
               progress: Callable[[int, int, float], None] | None = None) -> TrainingStats:
    """Train the LoRA adapters of ``model`` (a PEFT model) in place; ``progress(step, steps, loss)``."""
    import torch

    torch.manual_seed(seeding.int_seed(settings.seed, "torch"))
    rng = seeding.rng(settings.seed, "batches")
    examples, truncated = encode_examples(tokenizer, prompts, texts, settings.max_length)
    if truncated:
        log.warning("%d of %d texts are longer than %d tokens with their prompt and were truncated for training",
                    truncated, len(examples), settings.max_length)
    lengths = np.array([len(ids) for ids, _ in examples])
    per_epoch = math.ceil(len(examples) / settings.batch_size)
    steps = max(1, math.ceil(per_epoch * settings.epochs), settings.min_steps)
    if settings.max_steps is not None:
        steps = min(steps, settings.max_steps)
    plan: list[np.ndarray] = []
    while len(plan) < steps:
        plan += _batches(lengths, settings.batch_size, rng)
    plan = plan[:steps]

    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    warmup = max(1, int(steps * settings.warmup_share))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    pad = tokenizer.pad_token_id
    model.train()
    tokens, loss_value, start = 0, float("nan"), time.perf_counter()
    for step, batch in enumerate(plan, 1):
        width = int(lengths[batch].max())
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, index in enumerate(batch):
            example_ids, example_labels = examples[index]
            ids[row, :len(example_ids)] = torch.tensor(example_ids)
            labels[row, :len(example_labels)] = torch.tensor(example_labels)
            mask[row, :len(example_ids)] = 1
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        loss_value = float(out.loss.detach())
        if progress:
            progress(step, steps, loss_value)
    model.eval()
    return TrainingStats(len(examples), steps, tokens, time.perf_counter() - start, loss_value, truncated)
