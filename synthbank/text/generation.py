"""Batched sampling from a causal LM: one text per prompt.

Prompts are sorted by length and cut into batches (left padding), so a batch wastes little work on
padding; every batch has its own seed, so results do not depend on what else was generated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from synthbank import seeding


@dataclass
class GenerationStats:
    texts: int
    new_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


def generate_batched(model, tokenizer, prompts: Sequence[str], *, temperature: float, top_p: float,
                     max_new_tokens: int, batch_size: int, seed: int,
                     progress: Callable[[int, int], None] | None = None) -> tuple[list[str], GenerationStats]:
    """Sample one continuation per prompt; returns the texts (in prompt order) and throughput figures."""
    import torch

    if not prompts:
        return [], GenerationStats(0, 0, 0.0)
    device = next(model.parameters()).device
    encoded = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    texts: list[str] = [""] * len(prompts)
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    new_tokens, done, start = 0, 0, time.perf_counter()
    with torch.inference_mode():
        for b, first in enumerate(range(0, len(order), batch_size)):
            batch = order[first:first + batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):  # left padding: every prompt ends where generation starts
                ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]):] = 1
            torch.manual_seed(seeding.int_seed(seed, "text batch", b))
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=True,
                                 temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                 pad_token_id=pad, eos_token_id=eos)
            generated = out[:, width:].cpu()
            for row, i in enumerate(batch):
                tokens = generated[row]
                stop = (tokens == eos).nonzero()
                length = int(stop[0]) if len(stop) else len(tokens)
                new_tokens += length
                texts[i] = tokenizer.decode(tokens[:length], skip_special_tokens=True).strip()
            done += len(batch)
            if progress:
                progress(done, len(prompts))
    return texts, GenerationStats(len(prompts), new_tokens, time.perf_counter() - start)
