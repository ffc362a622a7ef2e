"""Combinations of categories that never occur together in the real data stay out of the synthetic data.

A Gaussian copula sees categories as intervals of one number each and links columns only monotonically,
so nested categories (a complaint's ``product`` → ``sub_product`` → ``issue``) come out mixed: a "Debt
collection" complaint about "Struggling to pay mortgage". :func:`learn_rules` finds, per table, the
categorical columns that depend on coarser ones — the pair's observed combinations cover less than half of
all possible ones — and keeps the shares of each finer value given the coarser values. :func:`apply_rules`
redraws, in a synthetic row, a finer value whose combination with its coarser values was never seen, from
those shares; coarser columns are settled first.

Privacy: a combination seen in fewer than ``k`` rows (the rare threshold) is not kept, as for single
values; only shares of frequent combinations are stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from synthbank.protection import RARE_MARKER

#: A pair of columns is "nested" when its observed combinations cover less than this share of all.
SPARSE_SHARE = 0.5
MAX_CATEGORIES = 500
_SEP = "\x1f"


@dataclass
class ComboRule:
    column: str  # the finer column, redrawn when its combination with ``given`` was never seen
    given: list[str]  # coarser columns, by increasing number of categories
    shares: dict[str, dict[str, float]] = field(default_factory=dict)  # joined given values → value → share

    def to_dict(self) -> dict:
        return asdict(self)


def learn_rules(frame: pd.DataFrame, columns: list[str], k: int) -> list[ComboRule]:
    """Rules for the categorical ``columns`` of one table (values already rare-protected)."""
    labels = {c: frame[c].astype(object).where(frame[c].notna(), None).map(lambda v: None if v is None else str(v))
              for c in columns}
    sizes = {c: labels[c].nunique() for c in columns}
    usable = sorted((c for c in columns if 2 <= sizes[c] <= MAX_CATEGORIES), key=lambda c: (sizes[c], c))
    rules = []
    for position, column in enumerate(usable):
        nesting = []
        for coarser in usable[:position]:
            pairs = pd.DataFrame({"a": labels[coarser], "b": labels[column]}).dropna()
            if len(pairs):
                ratio = len(pairs.drop_duplicates()) / _expected_pairs(pairs["a"], pairs["b"])
                if ratio < SPARSE_SHARE:
                    nesting.append((ratio, coarser))
        given = [c for _, c in sorted(nesting)]  # the most nesting first: shorter keys back off to it
        if not given:
            continue
        rows = pd.DataFrame({c: labels[c] for c in [*given, column]}).dropna()
        rows = rows[~rows.isin([RARE_MARKER]).any(axis=1)]
        shares = {}
        for length in range(1, len(given) + 1):
            key = rows[given[:length]].agg(_SEP.join, axis=1)
            for context, row in pd.crosstab(key, rows[column]).iterrows():
                kept = row[row >= k]
                if kept.sum() >= k:
                    shares[str(context)] = {str(v): round(float(n / kept.sum()), 6) for v, n in kept.items()}
        if shares:
            rules.append(ComboRule(column, given, shares))
    return rules


def _expected_pairs(a: pd.Series, b: pd.Series) -> float:
    """Distinct pairs expected among ``len(a)`` rows if the two columns were independent."""
    pa, pb = a.value_counts(normalize=True).to_numpy(), b.value_counts(normalize=True).to_numpy()
    return float(np.sum(1 - (1 - np.outer(pa, pb)) ** len(a)))


def apply_rules(frame: pd.DataFrame, rules: list[ComboRule], rng: np.random.Generator) -> pd.DataFrame:
    """Redraw the finer value of every row whose combination was never seen (in place; also returned).
    A row is judged on its longest run of coarser values seen often enough (the most nesting first)."""
    for rule in rules:
        if rule.column not in frame or not all(c in frame for c in rule.given):
            continue
        given = frame[rule.given].astype(object)
        values = frame[rule.column].astype(str).to_numpy()
        keys = np.full(len(frame), None, dtype=object)
        for length in range(len(rule.given), 0, -1):
            part = given[rule.given[:length]]
            joined = part.astype(str).agg(_SEP.join, axis=1).to_numpy()
            usable = (keys == None) & part.notna().all(axis=1).to_numpy() & np.isin(joined, list(rule.shares))  # noqa: E711
            keys[usable] = joined[usable]
        decided = (keys != None) & frame[rule.column].notna().to_numpy()  # noqa: E711
        redraw = np.flatnonzero(decided & np.array([k is not None and v not in rule.shares[k]
                                                     for k, v in zip(keys, values)], dtype=bool))
        if not len(redraw):
            continue
        column = frame[rule.column].to_numpy(dtype=object).copy()
        originals = {str(v): v for v in frame[rule.column].dropna().unique()}
        for key, rows in pd.Series(redraw).groupby(keys[redraw]):
            options = rule.shares[key]
            picks = rng.choice(list(options), size=len(rows), p=_normalised(list(options.values())))
            column[rows.to_numpy()] = [originals.get(p, p) for p in picks]
        frame[rule.column] = pd.Series(column, index=frame.index).astype(frame[rule.column].dtype, errors="ignore")
    return frame


def _normalised(shares: list[float]) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return p / p.sum()
