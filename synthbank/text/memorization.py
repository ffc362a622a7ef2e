"""The memorization filter: does a generated text copy a training text?

A text copies the training data when it equals a training text (ignoring case, spacing and punctuation) or
shares a run of ``ngram`` words with one. Only hashes are kept: the saved filter holds no text.

The right run length depends on the data: complaint narratives share stock phrases ("I am writing to
dispute…"), so :func:`calibrate_ngram` chooses the shortest run (at least 8 words) that at most 5% of
*unseen* real texts share with the training texts — a generated text sharing a longer run is more
similar to the training data than real new texts are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import numpy as np

from synthbank import seeding

MIN_NGRAM = 8
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _hash(tokens: Sequence[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest(), "little", signed=True)


def ngram_hashes(tokens: Sequence[str], n: int) -> set[int]:
    return {_hash(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


class CopyFilter:
    """Hashes of the training texts (whole, and every ``ngram``-word run)."""

    def __init__(self, texts: Iterable[str], ngram: int = MIN_NGRAM):
        self.ngram = int(ngram)
        self.texts: set[int] = set()
        self.ngrams: set[int] = set()
        for text in texts:
            tokens = words(text)
            self.texts.add(_hash(tokens))
            self.ngrams |= ngram_hashes(tokens, self.ngram)

    def copies(self, text: str) -> bool:
        tokens = words(text)
        if _hash(tokens) in self.texts:
            return True
        return any(_hash(tokens[i:i + self.ngram]) in self.ngrams for i in range(len(tokens) - self.ngram + 1))

    def to_dict(self) -> dict:
        return {"ngram": self.ngram, "texts": sorted(self.texts), "ngrams": sorted(self.ngrams)}

    @classmethod
    def from_dict(cls, data: dict) -> CopyFilter:
        self = cls([], data["ngram"])
        self.texts = set(data["texts"])
        self.ngrams = set(data["ngrams"])
        return self


class RunIndex:
    """Finds the longest run of words a text shares with any text of a corpus (kept in memory)."""

    def __init__(self, corpus: Sequence[Sequence[str]], base: int = 4):
        self.corpus, self.base = list(corpus), base
        self.index: dict[tuple, list[tuple[int, int]]] = {}
        for d, doc in enumerate(self.corpus):
            for i in range(len(doc) - base + 1):
                self.index.setdefault(tuple(doc[i:i + base]), []).append((d, i))

    def longest_run(self, query: Sequence[str]) -> int:
        best = 0
        for i in range(len(query) - self.base + 1):
            for d, j in self.index.get(tuple(query[i:i + self.base]), ())[:200]:
                doc, k = self.corpus[d], self.base
                while i + k < len(query) and j + k < len(doc) and query[i + k] == doc[j + k]:
                    k += 1
                best = max(best, k)
        return best


def calibrate_ngram(texts: Sequence[str], *, share: float = 0.05, holdout: float = 0.2, seed: int = 0,
                    max_holdout: int = 300) -> int:
    """Shortest run length (≥ 8 words) that at most ``share`` of held-out real texts reach against the rest."""
    if len(texts) < 10:
        return MIN_NGRAM
    rng = seeding.rng(seed, "copy calibration")
    order = rng.permutation(len(texts))
    n_out = min(max_holdout, max(2, int(len(texts) * holdout)))
    held, rest = order[:n_out], order[n_out:]
    index = RunIndex([words(texts[i]) for i in rest])
    runs = np.array([index.longest_run(words(texts[i])) for i in held])
    return max(MIN_NGRAM, int(np.quantile(runs, 1 - share)) + 1)
