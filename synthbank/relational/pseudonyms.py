"""Identifiers that repeat — a counterparty's account number in many payments — as consistent pseudonyms.

A column of account numbers, IBANs or other identifiers that repeat (not a key, not unique) carries
structure an analyst needs: how often one counterparty recurs, that it goes with a bank code or a payment
symbol, and that the counterparty of a standing order is the one the transactions pay. Faking each row
independently loses all of it; learning the values as categories copies them into the model and the
output (235 of 300 real account numbers were written out that way).

So the values are replaced by *tokens* before any model sees them, and tokens by fakes after sampling:

- Columns whose real values overlap form one *domain* (``standing_orders.account_to`` and
  ``transactions.account``): one real counterparty is one token in all of them.
- A value held by at least ``k`` entities (customers with everything under them) becomes a token ``_ID<n>_``,
  numbered by how many rows hold it. A value fewer entities share becomes a *local* token ``_L<j>_``: the
  entity's j-th such value (a customer's own landlord, paid every month), kept where at least ``k``
  entities have j of them; beyond that, the rare-value marker. The tokens are learned as categories, so
  their frequencies and their dependence on the other columns are kept. Nothing in a model directory maps
  a token back to a value: the values are not stored anywhere.
- When sampling, each token gets a fake identifier in the domain's own format
  (:class:`~synthbank.relational.identifier_format.IdentifierFormat`), drawn for the run's seed: the same
  token is the same fake everywhere in the clone, and another seed gives another mapping. A local token is
  one fake per synthetic entity (its rows in every column of the domain agree); a rare-value row gets a
  fresh identifier of its own. Fakes are distinct and, while the real values are at hand (fit and
  sample in one process), never a real value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.protection import RARE_MARKER
from synthbank.relational.identifier_format import IdentifierFormat
from synthbank.schemas.identifiers import as_strings, is_placeholder
from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import IDENTIFIER_PII_KINDS

#: Rows per distinct value above which a column counts as repeating (below, each row gets its own fake).
MIN_REPEAT = 1.1
_ROUNDS = 30


def token(rank: int) -> str:
    return f"_ID{rank}_"


def local_token(number: int) -> str:
    return f"_L{number}_"


def _number(value, prefix: str) -> int | None:
    if isinstance(value, str) and value.startswith(prefix) and value.endswith("_") and value[len(prefix):-1].isdigit():
        return int(value[len(prefix):-1])
    return None


def token_rank(value) -> int | None:
    return _number(value, "_ID")


@dataclass
class Domain:
    columns: list[list[str]]  # [table, column] pairs
    tokens: int
    format: dict
    locals: int = 0  # local tokens kept: an entity's 1st, 2nd… value that few entities share
    #: values that stand for "none" (``0``, ``99999999``) held by many entities: kept as they are
    placeholders: list[str] = field(default_factory=list)


@dataclass
class Pseudonyms:
    domains: list[Domain] = field(default_factory=list)
    #: real values of every domain, while fitting and sampling in one process; never saved
    real_values: set = field(default_factory=set, repr=False)

    # --- learning --------------------------------------------------------------------------------------
    @classmethod
    def learn(cls, schema: DatabaseSchema, frames: dict[str, pd.DataFrame], entities: dict[str, np.ndarray],
              roots: dict[str, str], k: int) -> tuple[Pseudonyms, dict[tuple[str, str], pd.Series]]:
        """The domains, and the token column that replaces each repeating identifier column.

        ``entities``: per table, the root row each row belongs to (frames are indexed 0…n-1);
        ``roots``: per table, its root table (an entity is a root table's row)."""
        candidates = _candidates(schema, frames)
        root_number = {name: i for i, name in enumerate(sorted(set(roots.values())))}
        model, tokens = cls(), {}
        for group in _overlapping(candidates):
            values = pd.concat([candidates[c] for c in group])
            holders = np.concatenate([np.asarray(entities[t], dtype=np.int64)[candidates[(t, c)].index.to_numpy()]
                                      * len(root_number) + root_number[roots[t]] for t, c in group])
            frame = pd.DataFrame({"value": values.to_numpy(), "entity": holders})
            counts = frame.groupby("value", sort=False).agg(rows=("entity", "size"), entities=("entity", "nunique"))
            kept = counts[counts["entities"] >= k].sort_values("rows", ascending=False, kind="stable")
            placeholders = [v for v in kept.index if is_placeholder(v)]
            kept = kept.drop(placeholders)
            frame["token"] = frame["value"].map({value: token(rank) for rank, value in enumerate(kept.index)}).astype(object)
            frame.loc[frame["value"].isin(placeholders), "token"] = frame["value"]
            locals_kept = _local_tokens(frame, k)
            shaped = values[~values.map(is_placeholder)]
            model.domains.append(Domain([list(c) for c in group], len(kept), IdentifierFormat.learn(shaped, k).to_dict(),
                                        locals_kept, placeholders))
            model.real_values |= set(values)
            start = 0
            for table, column in group:
                present = candidates[(table, column)]
                out = pd.Series(None, index=frames[table].index, dtype=object)
                out[present.index] = frame["token"].iloc[start:start + len(present)].to_numpy()
                start += len(present)
                tokens[(table, column)] = out
        return model, tokens

    def columns(self, table: str) -> list[str]:
        return [c for d in self.domains for t, c in d.columns if t == table]

    # --- sampling --------------------------------------------------------------------------------------
    def reveal(self, table: str, column: str, values: pd.Series, entities: np.ndarray, run_seed: int,
               block_seed: int, state: dict) -> pd.Series:
        """Sampled tokens → their fakes for ``run_seed``; local tokens → one fake per synthetic entity and
        number (``entities``: the entity of each row, numbered across the run); rare-value markers → fresh
        identifiers. ``state`` is one sampling run's memory (an empty dict at its start): the fakes already
        written, so that blocks sampled one after another never repeat one."""
        index = next(i for i, d in enumerate(self.domains) if [table, column] in d.columns)
        domain = self.domains[index]
        fmt = IdentifierFormat.from_dict(domain.format)
        fakes = state.get(("fakes", index))
        if fakes is None:
            fakes = state[("fakes", index)] = self._distinct(fmt, domain.tokens, seeding.rng(run_seed, "pseudonyms", index), set())
        used = state.setdefault(("used", index), set(fakes))
        ranks = pd.to_numeric(values.map(token_rank), errors="coerce")  # NaN where a value is no token
        out = np.full(len(values), None, dtype=object)
        known = ranks.notna().to_numpy() & (ranks.fillna(-1).to_numpy() < len(fakes))
        out[known] = np.asarray(fakes, dtype=object)[ranks[known].astype(int).to_numpy()]
        kept = values.isin(domain.placeholders).to_numpy()
        out[kept] = values[kept].to_numpy()
        known |= kept
        rng = seeding.rng(block_seed, "pseudonyms", table, column)
        numbers = values.map(lambda v: _number(v, "_L")).to_numpy(dtype=object)
        local = np.flatnonzero(pd.notna(numbers) & ~known)
        if len(local):
            seen = state.setdefault(("locals", index), {})
            pairs = list(zip(np.asarray(entities)[local].tolist(), numbers[local].tolist()))
            new = list(dict.fromkeys(p for p in pairs if p not in seen))
            seen.update(zip(new, self._distinct(fmt, len(new), rng, used)))
            out[local] = [seen[p] for p in pairs]
        fresh = np.flatnonzero(values.notna().to_numpy() & ~known & pd.isna(numbers))
        if len(fresh):
            out[fresh] = self._distinct(fmt, len(fresh), rng, used)
        return pd.Series(out, index=values.index, dtype=object)

    def _distinct(self, fmt: IdentifierFormat, n: int, rng: np.random.Generator, used: set) -> list[str]:
        """``n`` values of the format, none in ``used`` (which takes them) nor a real value; past a few
        rounds (a format with few possible values) repeats are allowed rather than looping forever."""
        out: list[str] = []
        for _ in range(_ROUNDS):
            for value in fmt.generate(n - len(out), rng):
                if value not in used and value not in self.real_values:
                    used.add(value)
                    out.append(value)
            if len(out) == n:
                return out
        return out + fmt.generate(n - len(out), rng)

    # --- persistence (no value) ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"domains": [{"columns": d.columns, "tokens": d.tokens, "format": d.format, "locals": d.locals,
                             "placeholders": d.placeholders} for d in self.domains]}

    @classmethod
    def from_dict(cls, data: dict | None) -> Pseudonyms:
        return cls([Domain(**d) for d in (data or {}).get("domains", [])])


def _local_tokens(frame: pd.DataFrame, k: int) -> int:
    """Give the rows whose value few entities share (no token yet) their entity's local token: the entity's
    1st, 2nd… such value (by first appearance), kept where at least ``k`` entities have that many; the rest
    the rare-value marker. Returns how many local tokens are kept."""
    rare = frame["token"].isna().to_numpy()
    if not rare.any():
        return 0
    rows = frame.loc[rare, ["entity", "value"]]
    first = rows.drop_duplicates(["entity", "value"])
    number = pd.Series(first.groupby("entity").cumcount().to_numpy() + 1, index=pd.MultiIndex.from_frame(first))
    numbers = number.reindex(pd.MultiIndex.from_frame(rows)).to_numpy()
    holders = pd.Series(number.to_numpy()).value_counts()  # entities with at least j such values, per j
    kept = int(sum(1 for j in sorted(holders.index) if holders[j] >= k and all(holders.get(i, 0) >= k for i in range(1, j))))
    frame.loc[rare, "token"] = [local_token(int(n)) if n <= kept else RARE_MARKER for n in numbers]
    return kept


def _candidates(schema: DatabaseSchema, frames: dict[str, pd.DataFrame]) -> dict[tuple[str, str], pd.Series]:
    """Identifier columns of learned tables whose values repeat (not keys, not unique), as strings."""
    referenced = {(fk.parent, c) for _, fk in schema.relationships() for c in fk.parent_columns}
    out = {}
    for name, table in schema.tables.items():
        if not table.is_synthesized or name not in frames:
            continue
        keys = {c for fk in table.foreign_keys for c in fk.columns} | set(table.primary_key)
        for column in table.columns.values():
            if column.sdtype != "pii" or column.pii not in IDENTIFIER_PII_KINDS or column.unique:
                continue
            if column.name in keys or (name, column.name) in referenced:
                continue
            present = as_strings(frames[name][column.name])
            if len(present) and len(present) >= MIN_REPEAT * present.nunique():
                out[(name, column.name)] = present
    return out


def _overlapping(candidates: dict[tuple[str, str], pd.Series]) -> list[list[tuple[str, str]]]:
    """Columns grouped by shared values (a real counterparty that two columns both hold)."""
    names = list(candidates)
    distinct = {c: set(candidates[c]) for c in names}
    parent = {c: c for c in names}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = len(distinct[a] & distinct[b])
            if shared and shared >= 0.05 * min(len(distinct[a]), len(distinct[b])):
                parent[root(b)] = root(a)
    groups: dict = {}
    for c in names:
        groups.setdefault(root(c), []).append(c)
    return list(groups.values())
