"""Links between synthetic rows that HMA does not make itself.

* :func:`match_rows` pairs the parent rows a child window sampled with the synthetic parents that already
  exist (one-to-one, nearest on the parent's own columns), so each child window hangs off real synthetic
  parents.
* :class:`SecondaryLink` assigns a foreign key that is not the one HMA modelled (e.g. ``complaints.loan_id``
  when complaints were sampled under users): its NULL share comes from HMA (an indicator column), the
  parent is chosen among rows consistent with the diamond (a complaint's loan belongs to its user) and
  weighted by how many children each parent has in the real data (a few hub airports take most flights)
  and by the strongest category association seen in the real linked pairs.
* :class:`DeferredLink` fills a self-reference or a cycle-closing foreign key after sampling, keeping its
  NULL share and its fan-out (children per referenced row); self-references stay acyclic.

Everything here works on row positions; the real keys are written later by the key generators.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

#: Rows per block of the one-to-one assignment (cost is cubic in the block size, so per row quadratic):
#: the sort along the first principal direction does most of the matching, the blocks refine it.
MATCH_BLOCK = 100
#: Points kept of the children-per-parent distribution of a secondary foreign key.
DEGREE_POINTS = 200


#: A category with more labels than this is matched on how common its label is, not one-hot.
MAX_ONE_HOT = 50


def _features(frame: pd.DataFrame, columns: list[str], reference: pd.DataFrame) -> np.ndarray:
    """Numeric features scaled by the reference's spread; categories one-hot (weight 1), or by their labels'
    share where there are more than :data:`MAX_ONE_HOT` labels."""
    parts = []
    for name in columns:
        ref, values = reference[name], frame[name]
        if pd.api.types.is_datetime64_any_dtype(ref):
            ref, values = ref.astype("int64").astype(float), values.astype("int64").astype(float)
        if pd.api.types.is_bool_dtype(ref) or ref.dtype == object and set(ref.dropna().unique()) <= {True, False}:
            parts.append(values.astype(float).fillna(0.5).to_numpy()[:, None])
        elif pd.api.types.is_numeric_dtype(ref):
            ref_f = ref.astype(float)
            spread = np.nanstd(ref_f.to_numpy()) or 1.0
            center = np.nanmean(ref_f.to_numpy()) if ref_f.notna().any() else 0.0
            parts.append(((values.astype(float) - center) / spread).fillna(0).to_numpy()[:, None])
        else:
            labels = ref.astype(str)
            shares = labels.value_counts(normalize=True)
            if len(shares) > MAX_ONE_HOT:  # many labels (identifiers' tokens): how common the row's label is
                feature = values.astype(str).map(shares).fillna(0.0).to_numpy(dtype=float)
                spread = float(labels.map(shares).std()) or 1.0
                parts.append((feature / spread)[:, None])
                continue
            levels = pd.Index(labels.unique())
            codes = levels.get_indexer(values.astype(str))
            onehot = np.zeros((len(values), len(levels)))
            onehot[np.arange(len(values))[codes >= 0], codes[codes >= 0]] = 1.0
            parts.append(onehot)
    return np.hstack(parts) if parts else np.zeros((len(frame), 1))


def match_rows(existing: pd.DataFrame, sampled: pd.DataFrame, columns: list[str], rng: np.random.Generator) -> np.ndarray:
    """For each row of ``sampled`` the position of its partner in ``existing`` (-1: none).

    One-to-one: sorted along the first principal direction, then optimally assigned within blocks.
    """
    n_e, n_s = len(existing), len(sampled)
    result = np.full(n_s, -1)
    if not n_e or not n_s:
        return result
    a = _features(existing, columns, existing)
    b = _features(sampled, columns, existing)
    centered = a - a.mean(axis=0)
    direction = np.linalg.svd(centered[: min(len(centered), 5000)], full_matrices=False)[2][0] if a.shape[1] > 1 else np.ones(1)
    order_e = np.argsort(a @ direction, kind="stable")
    order_s = np.argsort(b @ direction, kind="stable")
    n = min(n_e, n_s)
    # Spread the n pairs evenly over the longer side so no part of the distribution is cut off.
    pick_e = order_e[np.linspace(0, n_e - 1, n).round().astype(int)] if n_e > n else order_e
    pick_s = order_s[np.linspace(0, n_s - 1, n).round().astype(int)] if n_s > n else order_s
    for start in range(0, n, MATCH_BLOCK):
        block_e, block_s = pick_e[start:start + MATCH_BLOCK], pick_s[start:start + MATCH_BLOCK]
        cost = ((b[block_s][:, None, :] - a[block_e][None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        result[block_s[rows]] = block_e[cols]
    return result


def match_by_group(existing: pd.DataFrame, sampled: pd.DataFrame, columns: list[str], rng: np.random.Generator,
                   existing_group: np.ndarray, sampled_group: np.ndarray) -> np.ndarray:
    """:func:`match_rows` within each group (rows of one conditioned value are matched only to each other)."""
    result = np.full(len(sampled), -1)
    for group in np.unique(np.concatenate([existing_group, sampled_group])):
        mine, theirs = np.flatnonzero(existing_group == group), np.flatnonzero(sampled_group == group)
        if len(mine) and len(theirs):
            inner = match_rows(existing.iloc[mine].reset_index(drop=True), sampled.iloc[theirs].reset_index(drop=True),
                               columns, rng)
            found = inner >= 0
            result[theirs[found]] = mine[inner[found]]
    return result


@dataclass
class SecondaryLink:
    """How to assign one non-modelled foreign key; only aggregate statistics are kept."""

    child_column: str | None = None  # categorical column of the child…
    parent_column: str | None = None  # …most associated with this categorical column of the parent
    table: dict[str, dict[str, float]] = field(default_factory=dict)  # P(parent value | child value)
    parent_share: dict[str, float] = field(default_factory=dict)  # P(parent value)
    consistent_via: str | None = None  # shared ancestor table when the real data is a consistent diamond
    null_share: float = 0.0
    degrees: list[float] = field(default_factory=list)  # quantiles of the real children-per-parent counts

    @classmethod
    def learn(cls, child: pd.DataFrame, parent: pd.DataFrame, child_pos: np.ndarray, child_cats: list[str],
              parent_cats: list[str], consistent_via: str | None) -> SecondaryLink:
        """``child_pos[i]`` is the parent position child row ``i`` points at (-1 for NULL)."""
        link = cls(consistent_via=consistent_via, null_share=float(np.mean(child_pos < 0)) if len(child_pos) else 0.0)
        linked = child_pos >= 0
        if len(parent) and linked.any():
            per_parent = np.bincount(child_pos[linked], minlength=len(parent))
            points = np.linspace(0, 1, min(len(parent), DEGREE_POINTS))
            link.degrees = [round(float(v), 3) for v in np.quantile(per_parent, points)]
        if linked.sum() < 10 or not child_cats or not parent_cats:
            return link
        best = (0.0, None, None, None)
        for c in child_cats:
            for p in parent_cats:
                counts = pd.crosstab(child[c].to_numpy()[linked].astype(str),
                                     parent[p].to_numpy()[child_pos[linked]].astype(str))
                v = _cramers_v(counts)
                if v > best[0]:
                    best = (v, c, p, counts)
        if best[0] < 0.2:
            return link
        _, link.child_column, link.parent_column, counts = best
        link.parent_share = (counts.sum(axis=0) / counts.to_numpy().sum()).to_dict()
        counts = counts + 0.5
        link.table = (counts.div(counts.sum(axis=1), axis=0)).to_dict(orient="index")
        return link

    def assign(self, child: pd.DataFrame, parent: pd.DataFrame, wanted: np.ndarray,
               candidates: list[np.ndarray] | None, rng: np.random.Generator) -> np.ndarray:
        """Parent position for each child row where ``wanted`` (else -1).

        ``candidates[i]`` restricts row ``i`` to some parents (the diamond); ``None`` allows all.
        """
        out = np.full(len(child), -1)
        everyone = np.arange(len(parent))
        rows = np.flatnonzero(wanted)
        remaining = self._capacities(len(parent), len(rows), rng)
        parent_values = parent[self.parent_column].astype(str).to_numpy() if self.parent_column in parent else None
        child_values = child[self.child_column].astype(str).to_numpy() if self.child_column in child else None
        if candidates is None and (parent_values is None or child_values is None) and len(parent):
            out[rows] = _deal(remaining, len(rows), rng)  # no per-row weights: fast
            return out
        for i in rng.permutation(rows):  # random order: no row gets the first pick for good
            pool = everyone if candidates is None else candidates[i]
            if not len(pool):
                continue
            weights = remaining[pool]
            if parent_values is not None and child_values is not None and child_values[i] in self.table:
                row = self.table[child_values[i]]
                weights = weights * np.array([row.get(v, 1e-3) / max(self.parent_share.get(v, 1e-3), 1e-3)
                                              for v in parent_values[pool]])
            out[i] = rng.choice(pool, p=weights / weights.sum())
            remaining[out[i]] = max(remaining[out[i]] - 1.0, 1e-6)
        return out

    def _capacities(self, n_parents: int, n_children: int, rng: np.random.Generator) -> np.ndarray:
        """How many children each synthetic parent should get: the real children-per-parent counts at
        ``n_parents`` evenly spaced quantiles, scaled to ``n_children`` and dealt to the parents at random
        (the skew is kept — a few hub airports take most flights — not who has it)."""
        if not self.degrees or not n_parents:
            return np.ones(n_parents)
        wanted = (np.arange(n_parents) + 0.5) / n_parents
        counts = np.interp(wanted, np.linspace(0, 1, len(self.degrees)), self.degrees)
        if counts.sum() > 0:
            counts = counts * n_children / counts.sum()
        return rng.permutation(counts) + 1e-6  # a parent without children in the data may still get one

    def to_dict(self) -> dict:
        return asdict(self)


def _deal(capacity: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` parent positions, each parent about ``capacity`` times (whole parts exactly, fractions drawn)."""
    whole = np.minimum(np.floor(capacity).astype(int), n)
    slots = rng.permutation(np.repeat(np.arange(len(capacity)), whole))[:n]
    if len(slots) < n:
        fraction = capacity - whole + 1e-9
        fraction = fraction / fraction.sum()
        extra = rng.choice(len(capacity), size=n - len(slots), replace=n - len(slots) > len(capacity), p=fraction)
        slots = np.concatenate([slots, extra])
    return rng.permutation(slots)


def _cramers_v(table: pd.DataFrame) -> float:
    from scipy.stats import chi2_contingency

    if min(table.shape) < 2:
        return 0.0
    chi2 = chi2_contingency(table, correction=False)[0]
    n = table.to_numpy().sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


@dataclass
class DeferredLink:
    """NULL share and fan-out of a self-reference or cycle-closing foreign key."""

    null_share: float = 0.0
    fanout: list[int] = field(default_factory=list)  # fanout[k] = number of target rows referenced k times
    self_reference: bool = False

    @classmethod
    def learn(cls, child_pos: np.ndarray, n_targets: int, self_reference: bool) -> DeferredLink:
        linked = child_pos[child_pos >= 0]
        per_target = np.bincount(linked, minlength=n_targets) if n_targets else np.zeros(0, dtype=int)
        return cls(null_share=float(np.mean(child_pos < 0)) if len(child_pos) else 1.0,
                   fanout=np.bincount(per_target).tolist() if len(per_target) else [0], self_reference=self_reference)

    def fill(self, n_children: int, n_targets: int, rng: np.random.Generator) -> np.ndarray:
        out = np.full(n_children, -1)
        if not n_children or not n_targets:
            return out
        k = int(round((1 - self.null_share) * n_children))
        share = np.asarray(self.fanout, dtype=float)
        capacity = rng.choice(len(share), size=n_targets, p=share / share.sum()) if share.sum() else np.ones(n_targets, int)
        slots = np.repeat(np.arange(n_targets), capacity)
        if len(slots) < k:  # top up in proportion to capacity, so the fan-out shape is kept
            extra = rng.choice(n_targets, size=k - len(slots), p=(capacity + 1) / (capacity + 1).sum())
            slots = np.concatenate([slots, extra])
        rng.shuffle(slots)
        referencing = rng.choice(n_children, size=k, replace=False)
        out[referencing] = slots[:k]
        if self.self_reference:
            rank = rng.permutation(n_children)  # a row may only point at a row of lower rank: no cycles
            for i in np.flatnonzero((out >= 0) & (rank[np.maximum(out, 0)] >= rank)):
                lower = np.flatnonzero(rank < rank[i])
                out[i] = rng.choice(lower) if len(lower) else -1
        return out

    def to_dict(self) -> dict:
        return asdict(self)
