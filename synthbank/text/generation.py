"""Batched sampling from a causal LM: one text per prompt.

Prompts are sorted by length and cut into batches (left padding), so a batch wastes little work on
padding; every batch has its own seed, so results do not depend on what else was generated. The decoding
loop is synthbank's own (temperature and nucleus sampling, as ``model.generate`` does them) so that a row
that has written its end token leaves the batch at once: its cache rows are dropped and later steps run
on the rows still writing. The prompt pass computes logits for the last position only.
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
    ended: int = 0  # texts that ended on the end token (the rest were cut at max_new_tokens)

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    @property
    def ended_share(self) -> float:
        return self.ended / self.texts if self.texts else 0.0

    def __add__(self, other: GenerationStats) -> GenerationStats:
        return GenerationStats(self.texts + other.texts, self.new_tokens + other.new_tokens,
                               self.seconds + other.seconds, self.ended + other.ended)


def sample_next(logits, temperature: float, top_p: float, top_k: int | None = None):
    """One token per row: among the ``top_k`` most likely tokens (all if None), softmax at ``temperature``,
    restricted to the smallest set whose probability reaches ``top_p`` (always at least the most likely
    one) — transformers' top-k and top-p warpers, in that order. Selecting the top k first also spares
    sorting the whole vocabulary at every step."""
    import torch

    logits = logits.float()
    if top_k is not None and top_k < logits.shape[-1]:
        values, order = logits.topk(top_k, dim=-1)  # sorted, largest first
    else:
        values, order = logits.sort(dim=-1, descending=True)
    probs = torch.softmax(values / temperature, dim=-1)
    if top_p < 1.0:
        outside = probs.cumsum(-1) - probs > top_p  # the mass before a token already reached top_p
        probs = probs.masked_fill(outside, 0.0)
    return order.gather(-1, torch.multinomial(probs, 1)).squeeze(-1)


def decode(model, ids, mask, *, temperature: float, top_p: float, max_new_tokens: int, eos: int,
           top_k: int | None = None) -> tuple[list[list[int]], list[bool]]:
    """Sample up to ``max_new_tokens`` after each left-padded prompt row; rows leave the batch at their end
    token. Returns the new tokens of each row (without the end token) and whether it ended there."""
    import torch
    from transformers import DynamicCache

    rows = ids.shape[0]
    tokens: list[list[int]] = [[] for _ in range(rows)]
    ended = [False] * rows
    alive = torch.arange(rows)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1]
    position = positions[:, -1:]
    for step in range(max_new_tokens):
        chosen = sample_next(logits, temperature, top_p, top_k)
        finished = chosen == eos
        for row, token, stop in zip(alive.tolist(), chosen.tolist(), finished.tolist()):
            if stop:
                ended[row] = True
            else:
                tokens[row].append(token)
        if step == max_new_tokens - 1 or bool(finished.all()):
            break
        if bool(finished.any()):  # finished rows leave the batch, cache included
            keep = (~finished).nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            alive, chosen, mask, position = alive[keep], chosen[keep], mask[keep], position[keep]
        mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
        position = position + 1
        logits = model(input_ids=chosen[:, None], attention_mask=mask, position_ids=position,
                       cache=cache, use_cache=True).logits[:, -1]
    return tokens, ended


def generate_batched(model, tokenizer, prompts: Sequence[str], *, temperature: float, top_p: float,
                     max_new_tokens: int, batch_size: int, seed: int, top_k: int | None = None,
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
    new_tokens, ended_count, done, start = 0, 0, 0, time.perf_counter()
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
            generated, ended = decode(model, ids.to(device), mask.to(device), temperature=temperature, top_p=top_p,
                                      max_new_tokens=max_new_tokens, eos=eos, top_k=top_k)
            for row, i in enumerate(batch):
                new_tokens += len(generated[row])
                ended_count += ended[row]
                texts[i] = tokenizer.decode(generated[row], skip_special_tokens=True).strip()
            done += len(batch)
            if progress:
                progress(done, len(prompts))
    return texts, GenerationStats(len(prompts), new_tokens, time.perf_counter() - start, ended_count)
