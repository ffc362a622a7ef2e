"""Key formats: regenerate primary keys and identifiers in the source's format, unique at any scale.

A :class:`KeyFormat` is learned from a column's values and stores only their *shape* — integer, UUID, or
a common prefix plus a character template such as ``TX-#####`` — never the values themselves. Generated
keys start after ``start`` so that separately sampled chunks get disjoint key ranges.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_DIGITS = np.array(list("0123456789"))


@dataclass
class KeyFormat:
    kind: str  # "integer", "uuid", "counter" (prefix + zero-padded number) or "template"
    prefix: str = ""
    width: int = 0
    template: str = ""  # for "template": '#' a digit, '?' an upper-case letter, '*' a lower-case letter

    @classmethod
    def learn(cls, values: pd.Series, sql_base_type: str) -> KeyFormat:
        if sql_base_type in ("integer", "bigint", "smallint", "numeric", "float"):
            return cls("integer")
        strings = values.dropna().astype(str)
        if sql_base_type == "uuid" or (len(strings) and strings.str.fullmatch(r"[0-9a-fA-F-]{36}").all()):
            return cls("uuid")
        if not len(strings):
            return cls("counter", width=6)
        prefix = os.path.commonprefix(list(strings.head(1000)))
        prefix = re.match(r"^\D*", prefix).group(0)  # never cut a number in half
        rest = strings.str.slice(len(prefix))
        if rest.str.fullmatch(r"\d+").all():
            lengths = rest.str.len()
            return cls("counter", prefix=prefix, width=int(lengths.max()) if lengths.nunique() == 1 else 0)
        shapes = Counter(_shape(value) for value in rest.head(1000))
        return cls("template", prefix=prefix, template=shapes.most_common(1)[0][0])

    def generate(self, n: int, rng: np.random.Generator, start: int = 0) -> pd.Series:
        """``n`` distinct keys; with the same ``start`` and rng state the same keys."""
        numbers = np.arange(start + 1, start + n + 1)
        if self.kind == "integer":
            return pd.Series(numbers, dtype="int64")
        if self.kind == "uuid":
            return pd.Series([str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)], dtype=object)
        if self.kind == "counter":
            return pd.Series([f"{self.prefix}{k:0{self.width}d}" for k in numbers], dtype=object)
        return pd.Series(self._from_template(n, start), dtype=object)

    def _from_template(self, n: int, start: int) -> list[str]:
        """Keys number ``start + 1 … start + n`` spread over the template's space by a fixed bijection.

        Key number k always gives the same string, whatever the seed, the block or the chunk it falls in,
        so blocks sampled one after another and runs with disjoint key ranges (``key_start``) never
        collide — random draws checked against a set of one call's keys did (nycflights13's three-letter
        airport codes collided between sampling blocks). Past the template's space a key gets ``-k``.
        """
        radices = [len(_DIGITS) if c == "#" else len(_LETTERS) if c in "?*" else 1 for c in self.template]
        space = math.prod(radices)
        multiplier = int(space * 0.6180339887) | 1  # a stride coprime with the space: a permutation of it
        while math.gcd(multiplier, space) != 1:
            multiplier += 2
        dtype = np.int64 if space < 2**31 else object  # object: Python integers, never an overflow
        index = np.arange(start, start + n).astype(dtype)
        position = (index % space * multiplier + space // 3) % space
        chars = []
        for c, radix in zip(reversed(self.template), reversed(radices)):
            if radix == 1:
                chars.append(np.full(n, c, dtype=object))
                continue
            alphabet = _DIGITS if c == "#" else _LETTERS if c == "?" else np.char.lower(_LETTERS)
            chars.append(alphabet[(position % radix).astype(np.int64)])
            position = position // radix
        keys = [self.prefix + "".join(parts) for parts in zip(*reversed(chars))] if chars else [self.prefix] * n
        return [key if k < space else f"{key}-{k + 1}" for k, key in zip(range(start, start + n), keys)]

    def to_dict(self) -> dict:
        return asdict(self)


def _shape(value: str) -> str:
    return "".join("#" if c.isdigit() else "?" if c.isupper() else "*" if c.islower() else c for c in value)
