"""Privacy by construction: what never reaches a model file, whatever detection missed.

Two rules, applied to the training data before any model sees it (the relational engine and the text
engine's context fields alike):

- **Rare values.** A categorical value held by fewer than ``k`` distinct entities (default 5; an entity is
  a row of a root table together with everything below it, e.g. a customer with their loans and
  payments) is replaced by :data:`RARE_MARKER` before fitting. So a column that holds names, payees or
  memos that detection did not recognise cannot carry a value few people share into a model. In the
  output the marker is replaced by a new label of common words where the column is one of words with many
  rare values (:mod:`synthbank.novel_values`), else by a value drawn from the column's *kept* values (those
  held by at least ``k`` entities) in their real proportions; a column whose every value is rare is written as the marker
  in text columns (cut to the column's length), NULL in other nullable columns, and 0 otherwise.
- **Robust numeric bounds.** Numbers and datetimes beyond quantile-based bounds are moved inside them
  before fitting (:func:`tame_tails`), so no model stores a real extreme (SDV's transformers and copulas keep each column's min and max: the
  richest customer's exact income). The bounds sit at the quantile ``k / n`` from each end: ``k`` rows lie
  beyond each and are moved inside, to random values, so the model's extremes are nobody's values.

Booleans are not protected (two values, each shared by many). Keys are regenerated, PII columns are never
learned, and ``copy``/``subset`` tables are copied by explicit request (without their PII columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: What a rare categorical value becomes in the training data (and in the output where nothing is kept).
RARE_MARKER = "_RARE_"
#: A value must be held by at least this many distinct entities to reach a model.
DEFAULT_RARE_THRESHOLD = 5
#: The numeric bounds are never closer to the ends than this quantile (0: exactly k values lie beyond).
#: Kept small on purpose: the copulas' beta marginals bend when much of a tail is moved.
MIN_TAIL_SHARE = 0.0


def check_threshold(k) -> int:
    from synthbank.errors import SchemaError

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SchemaError(f"The rare-value threshold must be a whole number of at least 1, got {k!r}.")
    return int(k)


def holders(values: pd.Series, entities: np.ndarray | None = None) -> pd.Series:
    """For each distinct non-null value: how many distinct entities hold it (rows when no entities)."""
    present = values.notna().to_numpy()
    keys = values[present].astype(str).to_numpy()
    if entities is None:
        return pd.Series(keys).value_counts()
    frame = pd.DataFrame({"value": keys, "entity": np.asarray(entities)[present]})
    return frame.groupby("value")["entity"].nunique()


@dataclass
class RareGuard:
    """One column's protection: the kept values (held by ≥ k entities) and their shares."""

    kept: list = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    replaced: int = 0  # training rows whose value was rare
    novel: list = field(default_factory=list)  # new labels for the rare rows (see synthbank.novel_values)

    @classmethod
    def fit(cls, values: pd.Series, k: int, entities: np.ndarray | None = None, seed: int = 0) -> RareGuard:
        from synthbank.novel_values import make_pool

        counts = holders(values, entities)
        frequent = counts[counts >= k].index
        present = values.dropna()
        as_text = present.astype(str)
        is_kept = as_text.isin(frequent).to_numpy()
        kept = present[is_kept]
        rare = np.zeros(len(values), dtype=bool)
        rare[np.flatnonzero(values.notna().to_numpy())[~is_kept]] = True
        novel = make_pool(values, rare, entities, k, seed) if rare.any() else []
        if not len(kept):
            return cls([], [], int(len(present)), novel)
        # the kept values in their own type (an integer category stays an integer), with their row shares
        shares = kept.astype(object).map(_plain).value_counts(normalize=True, sort=True)
        return cls(list(shares.index), [float(s) for s in shares.to_numpy()], int((~is_kept).sum()), novel)

    def protect(self, values: pd.Series) -> pd.Series:
        """Rare values → :data:`RARE_MARKER` (the column becomes ``object`` if any was replaced)."""
        kept = {str(v) for v in self.kept}
        rare = values.notna() & ~values.astype(str).isin(kept)
        if not rare.any():
            return values
        out = values.astype(object).copy()
        out[rare] = RARE_MARKER
        return out

    def restore(self, values: pd.Series, rng: np.random.Generator, fallback=RARE_MARKER, exclude=()) -> pd.Series:
        """:data:`RARE_MARKER` in model output → a new label (where the column has them, see
        :mod:`synthbank.novel_values`), else a kept value drawn by its share (``fallback`` if none is kept),
        never one of ``exclude``."""
        marked = (values.astype(object) == RARE_MARKER).to_numpy()
        if not marked.any():
            return values
        out = values.astype(object).to_numpy().copy()
        if self.novel:
            out[marked] = np.array(self.novel, dtype=object)[rng.integers(len(self.novel), size=int(marked.sum()))]
            return pd.Series(out, index=values.index)
        allowed = [i for i, value in enumerate(self.kept) if value not in list(exclude)]
        if allowed:
            shares = np.asarray([self.shares[i] for i in allowed], dtype=float)
            picks = rng.choice(len(allowed), size=int(marked.sum()), p=shares / shares.sum())
            out[marked] = np.array([self.kept[i] for i in allowed], dtype=object)[picks]
        else:
            out[marked] = fallback
        return pd.Series(out, index=values.index)

    def to_dict(self) -> dict:
        return {"kept": self.kept, "shares": self.shares, "replaced": self.replaced, "novel": self.novel}

    @classmethod
    def from_dict(cls, data: dict) -> RareGuard:
        return cls(list(data["kept"]), list(data["shares"]), int(data.get("replaced", 0)), list(data.get("novel", [])))


def robust_bounds(values: pd.Series, k: int) -> tuple[float, float] | None:
    """Quantile bounds with at least ``k`` rows beyond each (None when there are too few values)."""
    numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(numbers) < 2:
        return None
    tail = min(0.25, max(MIN_TAIL_SHARE, k / len(numbers)))
    low, high = np.quantile(numbers, [tail, 1 - tail])
    return float(low), float(high)


def tame_tails(values: pd.Series, k: int, rng: np.random.Generator, *, drawn_extremes: bool = False) -> pd.Series:
    """``values`` with the tails beyond :func:`robust_bounds` moved inside them.

    A value beyond a bound is replaced by a uniform draw between that bound and the quantile one tail
    further in, not by the bound itself: a pile of equal values at the edge would bend the marginal a
    copula fits (a beta fitted to data with 0.5% of it on its upper end turns U-shaped). The largest value
    a model sees is then a random number inside the bounds, nobody's value — unless every draw stays inside
    the untouched values, whose outermost is then someone's. ``drawn_extremes`` rules that out: the
    outermost draw of each tail is moved between the outermost untouched value and the bound.
    """
    bounds = robust_bounds(values, k)
    if bounds is None:
        return values
    low, high = bounds
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    tail = min(0.25, max(MIN_TAIL_SHARE, k / int(numbers.notna().sum())))
    inner_low, inner_high = np.nanquantile(numbers, [min(0.5, 2 * tail), max(0.5, 1 - 2 * tail)])
    out = numbers.to_numpy().copy()
    for beyond, start, stop in ((out < low, low, max(low, inner_low)), (out > high, min(high, inner_high), high)):
        if beyond.any():
            out[beyond] = rng.uniform(start, stop, int(beyond.sum()))
    if drawn_extremes:  # the outermost draw of each tail lies beyond every untouched (real) value
        original = numbers.to_numpy()
        kept = original[(original >= low) & (original <= high)]
        below, above = np.flatnonzero(original < low), np.flatnonzero(original > high)
        if len(kept) and len(below) and out[below].min() >= kept.min():
            out[below[np.argmin(out[below])]] = rng.uniform(low, kept.min())
        if len(kept) and len(above) and out[above].max() <= kept.max():
            out[above[np.argmax(out[above])]] = rng.uniform(kept.max(), high)
    result = pd.Series(out, index=values.index)
    if pd.api.types.is_integer_dtype(values.dtype):  # integer columns stay integers, inside the bounds
        result = result.round().clip(np.ceil(low), max(np.ceil(low), np.floor(high)))
        return result.astype(values.dtype)
    return result


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["RARE_MARKER", "DEFAULT_RARE_THRESHOLD", "RareGuard", "holders", "robust_bounds", "tame_tails",
           "check_threshold"]
