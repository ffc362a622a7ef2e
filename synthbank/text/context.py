"""The distribution of context fields, for generating texts when no context rows are given.

It keeps the combinations of context values seen at least ``min_count`` times in training (the rare-value
threshold, default 5), with their frequencies: a combination few people had (which could single them out)
is never reproduced, and neither is a single value seen fewer times (rare values are replaced before this,
see :mod:`synthbank.protection`; the per-column frequencies drop anything still below the threshold).
When no combination is frequent enough — or none matches a ``where`` filter on a value that was seen —
each other column is drawn from its frequencies given the fixed value (pairs of values seen at least
``min_count`` times), else from its own frequencies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError
from synthbank.protection import RARE_MARKER

log = logging.getLogger(__name__)
MIN_COUNT = 5


class ContextSampler:
    def __init__(self, columns: list[str], combos: list[list], counts: list[int], marginals: dict[str, dict],
                 pairs: dict[str, dict[str, dict[str, int]]] | None = None):
        self.columns, self.combos, self.counts, self.marginals = columns, combos, counts, marginals
        #: "a\x1fb" → value of a → {value of b: count}, only pairs seen at least min_count times
        self.pairs = pairs or {}

    @classmethod
    def fit(cls, frame: pd.DataFrame, min_count: int = MIN_COUNT) -> ContextSampler:
        columns = list(frame.columns)
        values = frame.astype(object).where(frame.notna(), None)
        marginals = {c: {str(k): int(v) for k, v in values[c].astype(str).value_counts().items()
                         if v >= min_count and k != RARE_MARKER} for c in columns}
        if not columns:
            return cls([], [[]], [len(frame)], {})
        grouped = values.value_counts(dropna=False).reset_index(name="_n")
        kept = grouped[(grouped["_n"] >= max(2, min_count)) & ~(grouped[columns] == RARE_MARKER).any(axis=1)]
        pairs: dict[str, dict[str, dict[str, int]]] = {}
        for a in columns:
            for b in columns:
                if a == b:
                    continue
                counts = pd.crosstab(values[a].astype(str), values[b].astype(str))
                table = {str(x): {str(y): int(n) for y, n in row.items() if n >= min_count and y != RARE_MARKER}
                         for x, row in counts.iterrows() if x != RARE_MARKER}
                pairs[f"{a}\x1f{b}"] = {x: row for x, row in table.items() if row}
        return cls(columns, kept[columns].to_numpy().tolist(), kept["_n"].astype(int).tolist(), marginals, pairs)

    def sample(self, n: int, rng: np.random.Generator, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        combos = pd.DataFrame(self.combos, columns=self.columns)
        counts = np.asarray(self.counts, dtype=float)
        where = {column: str(value) for column, value in (where or {}).items()}
        for column, value in where.items():
            if column not in self.columns:
                raise SynthbankError(f"where= names '{column}', which is not a context column of this model "
                                     f"(context columns: {', '.join(self.columns) or 'none'}).")
            if value not in self.marginals.get(column, {}):
                raise SynthbankError(f"Fewer than the rare-value threshold of training rows have {column}={value!r}; "
                                     "cannot generate texts for it.")
            keep = (combos[column].astype(str) == value).to_numpy()
            combos, counts = combos[keep].reset_index(drop=True), counts[keep]
        if len(combos) == 0:  # no frequent combination matches: each other field given a fixed one, or alone
            log.warning("no frequent context combination matches; sampling the other context fields one by one")
            out = {}
            for column in self.columns:
                conditional = next((self.pairs.get(f"{w}\x1f{column}", {}).get(v) for w, v in where.items()
                                    if self.pairs.get(f"{w}\x1f{column}", {}).get(v)), None)
                if column in where:
                    out[column] = [where[column]] * n
                elif conditional:
                    values, weights = zip(*conditional.items())
                    out[column] = rng.choice(np.array(values, dtype=object), n, p=np.array(weights) / sum(weights))
                elif self.marginals[column]:
                    values, weights = zip(*self.marginals[column].items())
                    out[column] = rng.choice(np.array(values, dtype=object), n, p=np.array(weights) / sum(weights))
                else:  # every value of this field was rare
                    out[column] = [None] * n
            return pd.DataFrame(out).replace({"None": None})
        picks = rng.choice(len(combos), size=n, p=counts / counts.sum())
        return combos.iloc[picks].reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"columns": self.columns, "combos": self.combos, "counts": self.counts, "marginals": self.marginals,
                "pairs": self.pairs}

    @classmethod
    def from_dict(cls, data: dict) -> ContextSampler:
        return cls(data["columns"], data["combos"], data["counts"], data["marginals"], data.get("pairs"))
