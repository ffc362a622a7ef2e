"""The memorization filter: does a generated text copy a training text?

A text copies the training data when it equals a training text (ignoring case, spacing and punctuation) or
shares a run of ``ngram`` words with one. The saved filter holds no text and no plain hash of one: every
whole text and every ``ngram``-word run is hashed with a keyed BLAKE2b (a random 128-bit key drawn for
each model) into a Bloom filter sized for a false-positive rate of :data:`FALSE_POSITIVE_RATE`. Someone
holding a model directory can test whether a text or run *they already guess* was in the training data
(that is what the filter is for), with that false-positive rate; they cannot list the texts, and the
hashes cannot be matched against another model's or a precomputed dictionary (each model has its own key).

The right run length depends on the data: complaint narratives share stock phrases ("I am writing to
dispute…"), so :func:`calibrate_ngram` chooses the shortest run (at least 8 words) that at most 5% of
*unseen* real texts share with the training texts — a generated text sharing a longer run is more
similar to the training data than real new texts are.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
from collections.abc import Iterable, Sequence

import numpy as np

from synthbank import seeding

MIN_NGRAM = 8
#: The Bloom filter is sized so that a text never seen is taken for a training one this rarely.
FALSE_POSITIVE_RATE = 1e-6
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class CopyFilter:
    """Keyed hashes of the training texts (whole, and every ``ngram``-word run) in a Bloom filter."""

    def __init__(self, texts: Iterable[str], ngram: int = MIN_NGRAM, *, key: bytes | None = None,
                 false_positive_rate: float = FALSE_POSITIVE_RATE):
        self.ngram = int(ngram)
        self.key = key if key is not None else secrets.token_bytes(16)
        self.false_positive_rate = float(false_positive_rate)
        items = []
        for text in texts:
            tokens = words(text)
            items.append(self._whole(tokens))
            items += self._runs(tokens)
        self.items = len(set(items))
        n = max(self.items, 1)
        self.bits = max(64, math.ceil(-n * math.log(self.false_positive_rate) / math.log(2) ** 2))
        self.hashes = max(1, round(self.bits / n * math.log(2)))
        self.array = np.zeros((self.bits + 7) // 8, dtype=np.uint8)
        if items:
            positions = self._positions(items)
            np.bitwise_or.at(self.array, positions >> 3, (1 << (positions & 7)).astype(np.uint8))

    # --- hashing --------------------------------------------------------------------------------------
    def _digest(self, tokens: Sequence[str], tag: bytes) -> bytes:
        return hashlib.blake2b(tag + " ".join(tokens).encode(), key=self.key, digest_size=16).digest()

    def _whole(self, tokens: Sequence[str]) -> bytes:
        return self._digest(tokens, b"T")

    def _runs(self, tokens: Sequence[str]) -> list[bytes]:
        return [self._digest(tokens[i:i + self.ngram], b"R") for i in range(len(tokens) - self.ngram + 1)]

    def _positions(self, digests: list[bytes]) -> np.ndarray:
        """Bit positions (double hashing: h1 + i·h2 mod m) of each digest, flattened."""
        raw = np.frombuffer(b"".join(digests), dtype="<u8").reshape(-1, 2)
        h1, h2 = raw[:, 0] % self.bits, raw[:, 1] % self.bits | 1
        steps = np.arange(self.hashes, dtype=np.uint64)
        return ((h1[:, None] + steps[None, :] * h2[:, None]) % np.uint64(self.bits)).ravel().astype(np.int64)

    def _contains(self, digests: list[bytes]) -> np.ndarray:
        if not digests:
            return np.zeros(0, dtype=bool)
        positions = self._positions(digests)
        present = (self.array[positions >> 3] >> (positions & 7)) & 1
        return present.reshape(len(digests), self.hashes).all(axis=1)

    # --- use ------------------------------------------------------------------------------------------
    def copies(self, text: str) -> bool:
        tokens = words(text)
        return bool(self._contains([self._whole(tokens), *self._runs(tokens)]).any())

    def to_dict(self) -> dict:
        return {"ngram": self.ngram, "key": self.key.hex(), "false_positive_rate": self.false_positive_rate,
                "items": self.items, "bits": self.bits, "hashes": self.hashes,
                "array": base64.b64encode(self.array.tobytes()).decode("ascii")}

    @classmethod
    def from_dict(cls, data: dict) -> CopyFilter:
        self = cls([], data["ngram"], key=bytes.fromhex(data["key"]), false_positive_rate=data["false_positive_rate"])
        self.items, self.bits, self.hashes = int(data["items"]), int(data["bits"]), int(data["hashes"])
        self.array = np.frombuffer(base64.b64decode(data["array"]), dtype=np.uint8).copy()
        if len(self.array) != (self.bits + 7) // 8:
            raise ValueError("the copy filter's bit array does not match its size")
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
