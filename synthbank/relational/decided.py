"""A category that decides another (``decides`` rules: :mod:`synthbank.relational.rule_keeping`): the pairs of
values the real rows hold, and the decided column set from its determinant in sampled rows — or, where a
condition fixes the decided column, the determinant redrawn among the values that decide it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank.key_values import label_key
from synthbank.protection import RARE_MARKER


@dataclass
class Decided:
    determinant: str
    column: str
    pairs: list[list] = field(default_factory=list)  # [determinant value, decided value, rows]

    @classmethod
    def learn(cls, frame: pd.DataFrame, a: str, b: str) -> Decided:
        """The pairs of (rare-protected) values; a determinant with two decided values (a rule added by hand
        that the rows do not follow) keeps its most common one."""
        rows = frame[[a, b]][frame[a].notna()].astype(object)
        rows = rows[(rows[a] != RARE_MARKER) & (rows[b] != RARE_MARKER)]
        firsts: dict[str, list] = {}
        for (va, vb), count in rows.groupby([a, b], dropna=False, sort=True).size().items():
            pair = [_plain(va), None if pd.isna(vb) else _plain(vb), int(count)]
            if label_key(pair[0]) not in firsts or pair[2] > firsts[label_key(pair[0])][2]:
                firsts[label_key(pair[0])] = pair
        return cls(a, b, list(firsts.values()))

    def wrong(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows whose determinant is one of the rule's values and whose decided value is not its partner."""
        if self.determinant not in frame or self.column not in frame:
            return np.zeros(len(frame), dtype=bool)
        wanted, known = self._wanted(frame)
        current = frame[self.column].astype(object).to_numpy()
        return known & ~np.array([_same(w, c) for w, c in zip(wanted, current)], dtype=bool)

    def apply(self, frame: pd.DataFrame, rng, keep: bool = False, rows: np.ndarray | None = None) -> np.ndarray:
        """Make the rows (``rows``: a mask, default all) obey the rule, in place: the decided column set from
        the determinant, or with ``keep`` (the decided column is held by a condition or an earlier rule) the
        determinant redrawn among the values that decide the row's value, by their real shares. Returns the
        rows still wrong (``keep`` and no value decides theirs)."""
        wrong = self.wrong(frame) & (True if rows is None else rows)
        if not wrong.any():
            return wrong
        current = frame[self.column].astype(object).to_numpy()
        if keep:
            held = frame[self.determinant].astype(object).to_numpy().copy()
            for value in dict.fromkeys(label_key(v) for v in current[wrong]):  # first-seen order: a set's would follow the hash seed
                options = [(a, n) for a, b, n in self.pairs if label_key(b) == value]
                chosen = np.flatnonzero(wrong & np.array([label_key(v) == value for v in current]))
                if options:
                    shares = np.asarray([n for _, n in options], dtype=float)
                    held[chosen] = np.array([a for a, _ in options], dtype=object)[rng.choice(len(options), len(chosen), p=shares / shares.sum())]
                    wrong[chosen] = False
            frame[self.determinant] = pd.Series(held, index=frame.index).astype(frame[self.determinant].dtype, errors="ignore")
            return wrong
        wanted, _ = self._wanted(frame)
        out = current.copy()
        out[wrong] = wanted[wrong]
        frame[self.column] = pd.Series(out, index=frame.index).astype(frame[self.column].dtype, errors="ignore")
        return np.zeros(len(frame), dtype=bool)

    def _wanted(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        mapping = {label_key(a): b for a, b, _ in self.pairs}
        held = frame[self.determinant].astype(object)
        wanted = held.map(lambda v: mapping.get(label_key(v), RARE_MARKER) if pd.notna(v) else RARE_MARKER).to_numpy(dtype=object)
        return wanted, np.array([not (isinstance(w, str) and w == RARE_MARKER) for w in wanted], dtype=bool)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _same(a, b) -> bool:
    """Whether a decided value and a sampled one are the same (NULLs alike; flags by truth)."""
    if a is None or (not isinstance(a, str) and pd.isna(a)):
        return b is None or (not isinstance(b, str) and pd.isna(b))
    if isinstance(a, bool):
        return b is not None and not (not isinstance(b, str) and pd.isna(b)) and bool(b) == a
    return label_key(a) == label_key(b)
