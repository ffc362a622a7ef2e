"""Every random stream of synthbank, derived from the user's seed and a label.

A stream is named by labels (``"faker", "customers"``; ``"hma", "window", 2``; ``"text", "complaints",
"narrative", "nulls"``). Its seed is ``numpy.random.SeedSequence(entropy=seed, spawn_key=digest(labels))``:
different labels give independent streams (two tables, two windows, two text columns never share a
random state, whatever the lengths of their names), and the same seed and labels always give the same
stream, so a whole run is reproducible from one number.
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK = 2**32 - 1


def _key(labels: tuple) -> tuple[int, ...]:
    text = "\x1f".join(str(label) for label in labels)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def sequence(seed: int, *labels) -> np.random.SeedSequence:
    """The :class:`numpy.random.SeedSequence` of the stream ``labels`` under ``seed``."""
    return np.random.SeedSequence(entropy=int(seed) & (2**64 - 1), spawn_key=_key(labels))


def rng(seed: int, *labels) -> np.random.Generator:
    """A numpy generator for the stream ``labels`` under ``seed``."""
    return np.random.default_rng(sequence(seed, *labels))


def int_seed(seed: int, *labels) -> int:
    """A 32-bit integer seed for libraries that take one (Faker, SDV, scikit-learn, torch)."""
    return int(sequence(seed, *labels).generate_state(1, np.uint32)[0]) & _MASK
