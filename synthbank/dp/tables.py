"""A differentially private model of linked tables: a Gaussian copula per table, the person as the unit.

The tables form a tree along their foreign keys (customers → loans → payments). A *person* is a root row and
every row under it; the guarantee is that the model would be about as likely with or without any one person.
To bound what one person adds, training keeps at most a *cap* of each person's rows in each child table (a
seeded choice among the rows whose parent row is kept; a heavy customer's transactions are thinned), and every
release about a child table is calibrated to that many rows. The cap is the number of rows 90% of the people
have at most, read from a noisy histogram (so one loan per customer is capped at 1 or 2, not 10), and never
more than ``max_rows``. Child rows whose parent is missing are left out.

What is released, each with Gaussian noise calibrated by :mod:`synthbank.dp.accounting`:

* **row counts**: each root table's number of rows, and each child table's histogram of rows per person (the
  cap above; sensitivity 1 both);
* **marginals**: each column's noisy histogram (:mod:`synthbank.dp.marginals`): numbers and dates on a fixed
  grid (no bound from the data), categories behind a noisy threshold on the number of people holding each
  value (a release of its own in a child table; **categories**: the δ of the thresholds);
* **children counts**: per parent row, its number of rows in each child table (0 … ``max_rows``), as a column
  of the parent's copula, so that a big customer's loans follow from who they are;
* **correlations**: one matrix per table over its columns, its children counts and (for a child table) its
  parent row's latent scores, so that a child row is drawn given its parent (:mod:`synthbank.dp.copula`).

Nothing else about the data is kept: no row, no bound, no exact count. Sampling draws each root table's noisy
count of rows (times ``scale``), their children counts with them, then each child table's rows given their
parents' latent scores. Keys are row positions, foreign keys the parent's position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.dp import copula
from synthbank.dp.accounting import Budget, BudgetError
from synthbank.dp.marginals import Marginal, fit_category, fit_number

#: Rows of one person kept in each table while training at most (a public setting) ...
MAX_ROWS = 10
#: ... and at least as many as this share of the people hold (a noisy quantile: fewer rows, less noise)
CAP_QUANTILE = 0.9
KINDS = ("number", "integer", "date", "timestamp", "category", "boolean")
_EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class TableSpec:
    """A table of the tree: its learned ``columns`` (name → one of :data:`KINDS`), its ``parent`` table and the
    column holding the parent's position (``link``), or none for a root table."""

    name: str
    columns: dict[str, str]
    parent: str | None = None
    link: str | None = None
    required: tuple[str, ...] = ()  # NOT NULL columns (public: the DDL says so), never drawn as NULL


@dataclass
class _Fitted:
    spec: TableSpec
    max_rows: int  # a person's rows in this table at most
    marginals: dict[str, Marginal] = field(default_factory=dict)
    counts: dict[str, Marginal] = field(default_factory=dict)  # child table → children per row
    correlation: np.ndarray | None = None
    rows: float = 0.0  # noisy (root tables)


def _as_numbers(values: pd.Series, kind: str) -> pd.Series:
    if kind in ("date", "timestamp"):
        stamps = pd.to_datetime(values, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(None)
        return (stamps - _EPOCH) / pd.Timedelta(days=1)
    if kind == "boolean":
        return values.map(lambda v: None if pd.isna(v) else bool(v)).astype(object)
    return pd.to_numeric(values, errors="coerce") if kind in ("number", "integer") else values


class DPTables:
    """Fit with :meth:`fit` (the budget is spent there), draw with :meth:`sample`, state the spending with
    :meth:`statement`. ``specs`` lists parents before their children."""

    def __init__(self, specs: list[TableSpec], epsilon: float, delta: float = 1e-6, *, max_rows: int = MAX_ROWS,
                 seed: int = 0):
        names = [s.name for s in specs]
        for spec in specs:
            if spec.parent is not None and (spec.parent not in names or names.index(spec.parent) > names.index(spec.name)):
                raise BudgetError(f"Table '{spec.name}' must come after its parent '{spec.parent}'.")
            wrong = [c for c, kind in spec.columns.items() if kind not in KINDS]
            if wrong:
                raise BudgetError(f"Unknown kind of column(s) {', '.join(wrong)} in table '{spec.name}'.")
        if not isinstance(max_rows, int) or max_rows < 1:
            raise BudgetError(f"The rows kept per person must be a whole number of at least 1, got {max_rows!r}.")
        self.specs = list(specs)
        self.epsilon, self.delta, self.max_rows, self.seed = epsilon, delta, max_rows, seed

    def _children(self, name: str) -> list[TableSpec]:
        return [s for s in self.specs if s.parent == name]

    def _root_of(self, name: str) -> str:
        spec = next(s for s in self.specs if s.name == name)
        return name if spec.parent is None else self._root_of(spec.parent)

    def _cap(self, person: np.ndarray, people: int, sigma: float, rng: np.random.Generator) -> int:
        """The rows kept per person in a table: the smallest count at or above which :data:`CAP_QUANTILE` of the
        people fall, read from a noisy histogram of their row counts (0 … ``max_rows``; a person is in one bin:
        sensitivity 1), at least 1."""
        per_person = np.minimum(np.bincount(person, minlength=people), self.max_rows)
        noisy = np.bincount(per_person, minlength=self.max_rows + 1) + rng.normal(0.0, sigma, self.max_rows + 1)
        cumulative = np.cumsum(np.maximum(noisy, 0.0))
        if cumulative[-1] <= 0:
            return self.max_rows
        return int(max(1, np.searchsorted(cumulative, CAP_QUANTILE * cumulative[-1])))

    def _bounded(self, frames: dict[str, pd.DataFrame], rng: np.random.Generator | None = None, sigma: float = 0.0,
                 caps: dict[str, int] | None = None) -> tuple[dict, dict, dict]:
        """The rows training sees (at most ``caps_[table]`` of each person in each table, a seeded choice among
        the rows whose parent row is kept), per child table each kept row's parent as a position among the kept
        parent rows, and per table each kept row's person. ``caps``: use these caps instead of drawing them."""
        kept: dict[str, pd.DataFrame] = {}
        parent_of: dict[str, np.ndarray] = {}
        person: dict[str, np.ndarray] = {}
        self.caps_: dict[str, int] = {}
        for spec in self.specs:
            frame = frames[spec.name].reset_index(drop=True)
            if spec.parent is None:
                person[spec.name] = np.arange(len(frame))
                self.caps_[spec.name] = 1
            else:
                # the parent's original position → its position among the kept parent rows
                where = pd.Series(np.arange(len(kept[spec.parent])), index=kept[spec.parent]["_sb_position"].to_numpy())
                position = pd.to_numeric(frame[spec.link], errors="coerce").map(where)
                frame = frame[position.notna().to_numpy()].assign(_sb_parent=position.dropna().astype(int).to_numpy())
                frame = frame.assign(_sb_person=person[spec.parent][frame["_sb_parent"].to_numpy()])
                cap = caps[spec.name] if caps is not None else self._cap(frame["_sb_person"].to_numpy(),
                                                                         len(frames[self._root_of(spec.name)]), sigma, rng)
                self.caps_[spec.name] = cap
                frame = frame.iloc[seeding.rng(self.seed, "dp cap", spec.name).permutation(len(frame))]
                frame = frame[frame.groupby("_sb_person").cumcount().to_numpy() < cap].sort_index()
                parent_of[spec.name] = frame.pop("_sb_parent").to_numpy()
                person[spec.name] = frame.pop("_sb_person").to_numpy()
            kept[spec.name] = frame.assign(_sb_position=frame.index.to_numpy()).reset_index(drop=True)
        return kept, parent_of, person

    def fit(self, frames: dict[str, pd.DataFrame]) -> DPTables:
        own = {s.name: len(s.columns) + len(self._children(s.name)) for s in self.specs}
        dims = {s.name: own[s.name] + (own[s.parent] if s.parent else 0) for s in self.specs}
        self.budget_ = Budget(self.epsilon, self.delta, {
            # each root table's rows, and each child table's histogram of rows per person (its cap)
            "row counts": len(self.specs),
            # a child table's category is two releases: its rows per value, and its people per value (the selection)
            "marginals": sum(len(s.columns) + (sum(k == "category" for k in s.columns.values()) if s.parent else 0)
                             for s in self.specs),
            "children counts": sum(s.parent is not None for s in self.specs),
            "correlations": sum(dims[s.name] >= 2 for s in self.specs)},
            thresholds=sum(kind == "category" for s in self.specs for kind in s.columns.values()))
        z = self.budget_.z
        rng = seeding.rng(self.seed, "dp noise")
        kept, parent_of, persons = self._bounded(frames, rng, z("row counts"))
        tables = {s.name: _Fitted(s, self.caps_[s.name]) for s in self.specs}
        per_parent: dict[str, pd.Series] = {}  # per child table: each kept parent row's kept children
        for spec in self.specs:
            fitted, frame = tables[spec.name], kept[spec.name]
            m = fitted.max_rows
            if spec.parent is None:
                fitted.rows = max(len(frame) + rng.normal(0.0, z("row counts")), 1.0)
            for column, kind in spec.columns.items():
                values = _as_numbers(frame[column], kind)
                sigma = z("marginals") * m
                if kind == "category":
                    child = spec.parent is not None
                    fitted.marginals[column] = fit_category(values, sigma, rng, threshold_delta=self.budget_.threshold_delta,
                                                            persons=persons[spec.name] if child else None,
                                                            select_sigma=z("marginals") * np.sqrt(m), values_per_person=m)
                elif kind == "boolean":
                    fitted.marginals[column] = fit_category(values, sigma, rng, public=[False, True])
                else:
                    fitted.marginals[column] = fit_number(values, "date" if kind in ("date", "timestamp") else "number", sigma, rng,
                                                          integer=kind == "integer")
            for column in spec.required:  # post-processing with the DDL: no NULL cell where NULL cannot be written
                weights = fitted.marginals[column].weights
                if weights[1:].sum() > 0:  # else nothing was released: NULL stands for "no value" (see relational.dp_fit)
                    weights[0] = 0.0
            for child in self._children(spec.name):
                per_parent[child.name] = pd.Series(np.bincount(parent_of[child.name], minlength=len(frame)), dtype=float)
                counted = fit_number(per_parent[child.name], "number", z("children counts") * m, rng, integer=True,
                                     edges=np.arange(-0.5, self.max_rows + 1.0))
                counted.weights[0] = 0.0  # a count is never NULL (post-processing)
                fitted.counts[child.name] = counted
        # latent scores: each table's own columns and children counts; a child's rows with their parent's before them
        latent: dict[str, np.ndarray] = {}
        for spec in self.specs:
            fitted, frame = tables[spec.name], kept[spec.name]
            encode_rng = seeding.rng(self.seed, "dp encode", spec.name)
            parts = [fitted.marginals[c].encode(_as_numbers(frame[c], k), encode_rng) for c, k in spec.columns.items()]
            for child in self._children(spec.name):
                parts.append(fitted.counts[child.name].encode(per_parent[child.name], encode_rng))
            own = copula.latent(np.column_stack(parts)) if parts else np.zeros((len(frame), 0))
            latent[spec.name] = own
            full = np.hstack([latent[spec.parent][parent_of[spec.name]], own]) if spec.parent else own
            if full.shape[1] >= 2:
                sigma = z("correlations") * copula.correlation_sensitivity(full.shape[1], fitted.max_rows)
                fitted.correlation = copula.noisy_correlation(full, sigma, rng)
            else:
                fitted.correlation = np.eye(full.shape[1])
        self.tables_ = tables
        self.unlearned_ = [f"{s.name}.{c}" for s in self.specs for c, m in tables[s.name].marginals.items() if not m.learned]
        return self

    def root_rows(self, scale: float = 1.0) -> dict[str, int]:
        """Each root table's rows at ``scale`` (its noisy row count, scaled)."""
        return {s.name: max(int(round(self.tables_[s.name].rows * scale)), 1) for s in self.specs if s.parent is None}

    def expected_rows(self, scale: float = 1.0) -> dict[str, int]:
        """Every table's expected rows at ``scale``: the root rows times the children counts' means down the tree."""
        out: dict[str, float] = dict(self.root_rows(scale))
        for spec in self.specs:
            if spec.parent is not None:
                counts = self.tables_[spec.parent].counts[spec.name]
                centres = np.arange(len(counts.weights) - 1)
                mean = float((counts.weights[1:] * centres).sum() / max(counts.weights[1:].sum(), 1e-12))
                out[spec.name] = out[spec.parent] * mean
        return {name: int(round(n)) for name, n in out.items()}

    def sample(self, scale: float = 1.0, seed: int = 0, roots: dict[str, int] | None = None) -> dict[str, pd.DataFrame]:
        """Synthetic tables: root tables ``scale`` times their noisy row counts (or ``roots[name]`` rows);
        keys are positions."""
        out: dict[str, pd.DataFrame] = {}
        latent: dict[str, np.ndarray] = {}
        counts: dict[str, np.ndarray] = {}
        for spec in self.specs:
            fitted = self.tables_[spec.name]
            rng = seeding.rng(seed, "dp sample", spec.name)
            if spec.parent is None:
                n = roots[spec.name] if roots is not None else self.root_rows(scale)[spec.name]
                given, owners = None, None
            else:
                owners = np.repeat(np.arange(len(counts[spec.name])), counts[spec.name])
                n, given = len(owners), latent[spec.parent][owners]  # the parent's own latent scores
            own = copula.draw(fitted.correlation, rng, n, given) if fitted.correlation.size else np.zeros((n, 0))
            latent[spec.name] = own
            u = copula.uniform(own)
            frame = pd.DataFrame(index=range(n))
            for j, (column, kind) in enumerate(spec.columns.items()):
                values = fitted.marginals[column].decode(u[:, j], rng)
                if kind in ("date", "timestamp"):
                    values = _EPOCH + pd.to_timedelta(values.round() if kind == "date" else values, unit="D")
                elif kind == "boolean":
                    values = values.astype(object)
                frame[column] = values
            for j, child in enumerate(fitted.counts, start=len(spec.columns)):
                counts[child] = fitted.counts[child].decode(u[:, j], rng).fillna(0).to_numpy(dtype=np.int64)
            if spec.parent is not None:
                frame[spec.link] = owners
            out[spec.name] = frame
        return out

    def statement(self) -> dict:
        """ε and δ spent, per part and in total."""
        return self.budget_.statement()
