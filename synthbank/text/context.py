"""The distribution of context fields, for generating texts when no context rows are given.

It keeps the combinations of context values seen at least twice in training, with their frequencies: a
combination only one person had (which could single them out) is never reproduced. When no
combination repeats, the columns are sampled independently from their own frequencies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError

MIN_COUNT = 2


class ContextSampler:
    def __init__(self, columns: list[str], combos: list[list], counts: list[int], independent: bool = False):
        self.columns, self.combos, self.counts, self.independent = columns, combos, counts, independent

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> ContextSampler:
        columns = list(frame.columns)
        if not columns:
            return cls([], [[]], [len(frame)])
        values = frame.astype(object).where(frame.notna(), None)
        grouped = values.value_counts(dropna=False).reset_index(name="_n")
        kept = grouped[grouped["_n"] >= MIN_COUNT]
        independent = kept.empty
        if independent:
            kept = grouped
        return cls(columns, kept[columns].to_numpy().tolist(), kept["_n"].astype(int).tolist(), independent)

    def sample(self, n: int, rng: np.random.Generator, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        combos = pd.DataFrame(self.combos, columns=self.columns)
        counts = np.asarray(self.counts, dtype=float)
        for column, value in (where or {}).items():
            if column not in self.columns:
                raise SynthbankError(f"--where names '{column}', which is not a context column of this model "
                                     f"(context columns: {', '.join(self.columns) or 'none'}).")
            keep = (combos[column].astype(str) == str(value)).to_numpy()
            if not keep.any():
                raise SynthbankError(f"No training row has {column}={value!r}; cannot generate texts for it.")
            combos, counts = combos[keep].reset_index(drop=True), counts[keep]
        if self.independent and not where:
            return pd.DataFrame({c: combos[c].to_numpy()[rng.choice(len(combos), n, p=counts / counts.sum())]
                                 for c in self.columns})
        picks = rng.choice(len(combos), size=n, p=counts / counts.sum())
        return combos.iloc[picks].reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"columns": self.columns, "combos": self.combos, "counts": self.counts, "independent": self.independent}

    @classmethod
    def from_dict(cls, data: dict) -> ContextSampler:
        return cls(data["columns"], data["combos"], data["counts"], data.get("independent", False))
