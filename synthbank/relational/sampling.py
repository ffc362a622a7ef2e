"""Sampling: synthetic tables block by block, as one set of tables, a stream of chunks or of blocks.

:class:`BlockSampling`, mixed into :class:`~synthbank.relational.synthesizer.RelationalSynthesizer`:

* :meth:`~BlockSampling.sample`, :meth:`~BlockSampling.sample_chunks` and
  :meth:`~BlockSampling.sample_blocks`: the block is the unit of sampling (a share of every root table's
  rows and everything under them, with a random stream of its own); blocks are grouped into one result or
  into chunks by :mod:`~synthbank.relational.blocks`;
* :meth:`~BlockSampling.sample_block_rows` (the part an executor runs in workers, see
  :func:`sample_block_task`): walk the windows top-down, each window's model drawing its root rows (or as
  many as the rows already drawn, matched to them: ``match_rows``) and their children;
* then, in block order, :class:`~synthbank.relational.assembly.Assembly` finishes the tables: keys,
  links, rare values, category combinations, PII, SQL types;
* conditions (``rebalance``, ``where``): :meth:`~BlockSampling.resolve_conditions` checks them against the
  model, :mod:`~synthbank.relational.conditions` and the window models meet them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.errors import SynthbankError
from synthbank.executors import Executor, InProcess
from synthbank.progress import Progress, report
from synthbank.relational import conditions, dp_fit, table_models
from synthbank.relational.assembly import Assembly
from synthbank.relational.blocks import DEFAULT_CHUNK_ROWS, concat_blocks, from_arrow, group_chunks, to_arrow
from synthbank.relational.columns import KEY, fk_column
from synthbank.relational.fast_hma import FastHMA
from synthbank.relational.links import match_by_group, match_rows
from synthbank.relational.rule_keeping import RuleKeeper


class BlockSampling:
    """Sampling blocks of synthetic rows and turning them into tables (mixed into ``RelationalSynthesizer``)."""

    def sample(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
               progress: Progress | None = None, executor: Executor | None = None,
               block_rows: int | None = None, rebalance=None, where=None) -> dict[str, pd.DataFrame]:
        """Synthetic tables, ``scale`` times the size of the training data, deterministic for ``seed``.

        ``key_start`` offsets every generated key, so runs with different seeds and disjoint key ranges
        can be unioned without collisions. The whole result is held in memory: for large outputs use
        :meth:`sample_chunks`.
        """
        return concat_blocks([tables for _, tables in self.sample_blocks(scale, seed, key_start=key_start,
                                                                          progress=progress, executor=executor,
                                                                          block_rows=block_rows, rebalance=rebalance,
                                                                          where=where)])

    def sample_chunks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None,
                      executor: Executor | None = None, block_rows: int | None = None, rebalance=None, where=None):
        """The same synthetic tables as :meth:`sample`, as a stream of chunks of about ``chunk_rows`` rows.

        A chunk is a dict of tables; its rows reference only rows of the same or earlier chunks (copy and
        subset tables come with the first). The output for a seed does not depend on ``chunk_rows``: a
        chunk is a run of whole blocks (see :meth:`sample_blocks`), so only memory does.
        """
        return group_chunks(self.sample_blocks(scale, seed, key_start=key_start, progress=progress, executor=executor,
                                               block_rows=block_rows, rebalance=rebalance, where=where), chunk_rows)

    def sample_blocks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      progress: Progress | None = None, executor: Executor | None = None, block_rows: int | None = None,
                      rebalance=None, where=None, tally: conditions.MixTally | None = None):
        """Yield ``(block, tables)``: the unit of sampling.

        A block is a share of every root table's rows and everything under them, sampled with a random
        stream of its own (the seed and the block's number) and keys after those of earlier blocks. The
        number of blocks depends only on the model, ``scale`` and ``block_rows`` (synthetic rows per block,
        default :data:`~synthbank.relational.synthesizer.BLOCK_ROWS`), never on how blocks are grouped into chunks or workers. Smaller blocks
        give workers more pieces to share (and keep secondary links within fewer rows).

        Each block is drawn in two steps: the windows' models sample its rows (:meth:`sample_block_rows`,
        which needs nothing but the model, so ``executor`` runs it in worker processes or on Ray, the
        model sent once, the rows back as Arrow tables), then, here and in block order, the rows become
        tables (:class:`~synthbank.relational.assembly.Assembly`: keys numbered after earlier blocks,
        links, PII unique across blocks). The output for a seed is the same with every executor.

        ``rebalance`` (``{"transactions.is_fraud": {True: 0.2}}``) and ``where`` (``{"loans.grade": "A"}``)
        set the mix of a categorical or boolean column of any table (see :meth:`resolve_conditions`);
        ``tally`` (a :class:`~synthbank.relational.conditions.MixTally` from :meth:`tally`, in their place)
        counts the shares achieved.
        """
        self._check_fitted()
        if not scale > 0:
            raise SynthbankError(f"The scale must be a positive number, got {scale}.")
        mixes = tally.mixes if tally is not None else self.resolve_conditions(rebalance, where)
        assembly = Assembly(self.schema_, self.plans_, self.key_formats_, self.pii_, self.secondary_, self.deferred_,
                            self.rare_, self.combos_, self.forms_, self.fixed_, key_start=key_start,
                            point_masses=getattr(self, "point_masses_", {}), pseudonyms=self.pseudonyms_,
                            run_seed=seed, entity_roots=self._roots(), binary=getattr(self, "binary_", {}),
                            rules=getattr(self, "rules_", RuleKeeper()))
        blocks = self.block_count(scale, block_rows)
        report(progress, "sampling", f"block 1 of {blocks}", 0, blocks)
        drawn = (executor or InProcess()).map(sample_block_task, self, [(scale, seed, block, blocks, mixes) for block in range(blocks)])
        for block, payload in enumerate(drawn):
            rows, parent_of = from_arrow(payload)
            tables = assembly.finish(rows, parent_of, scale, seeding.int_seed(seed, "block", block), block, mixes=mixes)
            if tally is not None:
                tally.add(tables)
            report(progress, "sampling", f"block {min(block + 2, blocks)} of {blocks}", block + 1, blocks)
            yield block, tables

    def sample_block_rows(self, scale: float, seed: int, block: int, blocks: int, mixes: dict | None = None):
        """One block's learned rows per table and, per child table, the position of each row's parent."""
        if getattr(self, "dp_", None) is not None:
            return dp_fit.block_rows(self, scale, seed, block, blocks)
        block_seed = seeding.int_seed(seed, "block", block)
        rows: dict[str, pd.DataFrame] = {}
        parent_of: dict[str, np.ndarray] = {}
        adopted: set[str] = set()
        mixes = mixes or {}
        # a table under a condition keeps what its conditioned parents' models gave it, unless its own model
        # draws it given its parent row (which holds the condition)
        conditional = {w.parent for i, w in enumerate(self.windows_) if getattr(self.hmas_[i], "context_spec_", None)}
        below = {name for name in self.plans_ if name not in conditional and any(a in mixes for a in self._ancestors(name))}
        adopted.update(below)
        for index, window in enumerate(self.windows_):
            if window.parent in below and window.parent in rows and not window.children:
                continue  # its own copula learned the real mix: its values would wash the condition out
            roots = self._root_rows(window.parent, scale, block, blocks)
            counts = None
            if window.parent in mixes and window.parent not in rows:  # a root table: its block's share of the counts
                total = self._root_total(window.parent, scale)
                counts = mixes[window.parent].block_counts(total, total * block // blocks, roots)
            self._sample_window(index, window, roots, block_seed, rows, parent_of, adopted, mixes, counts)
        return rows, parent_of

    def _ancestors(self, name: str) -> list[str]:
        """The tables above ``name`` along its modelled (primary) foreign keys."""
        out, seen = [], {name}
        while (plan := self.plans_.get(name)) is not None and plan.primary_fk is not None:
            name = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent
            if name in seen:
                break
            out.append(name)
            seen.add(name)
        return out

    def _root_total(self, name: str, scale: float) -> int:
        real = self.row_counts_[name]
        return max(1, int(round(real * scale))) if real else 0

    def _root_rows(self, name: str, scale: float, block: int, blocks: int) -> int:
        """This block's share of a root table's synthetic rows (the shares add up to the total)."""
        total = self._root_total(name, scale)
        return total * (block + 1) // blocks - total * block // blocks

    @staticmethod
    def _adopt(existing: pd.DataFrame, sampled: pd.DataFrame, match: np.ndarray) -> None:
        """Give matched existing rows the attributes of their partner from this window's root model.

        A table sampled as a child keeps its parent link, but HMA's per-parent child models see only a
        few rows each and lose correlations between the table's own columns; the window where the table
        is the root models them with one copula over all its rows, so its values are the better ones.
        """
        keep = match >= 0
        for column in sampled.columns:
            if column == KEY or column not in existing.columns:
                continue
            values = existing[column].astype(object).to_numpy()
            values[match[keep]] = sampled[column].astype(object).to_numpy()[keep]
            existing[column] = pd.Series(values, index=existing.index).astype(sampled[column].dtype, errors="ignore")

    def _sample_window(self, index, window, roots, seed, rows, parent_of, adopted, mixes=None, counts=None):
        model = self.hmas_[index]
        parent = window.parent
        real_parents = self.row_counts_[parent]
        mixes = mixes or {}
        mix = mixes.get(parent)
        children = {child: mixes[child] for child in window.children if child in mixes}
        options = {"child_mixes": children} if children else {}
        odds = {child: getattr(self, "associations_", {}).get(child, {}).get(mix.column) for child, mix in children.items()}
        if any(odds.values()):
            options["child_odds"] = {child: a for child, a in odds.items() if a is not None}
        if parent not in rows:
            wanted = roots
            if mix is not None and wanted:
                options["parent_counts"] = (mix.column, counts)
            sampled = model.sample(wanted, seed, **options) if wanted else model.empty()
            rows[parent] = sampled[parent].reset_index(drop=True)
            key_to_pos = pd.Series(np.arange(len(rows[parent])), index=rows[parent][KEY].to_numpy())
        else:
            target = len(rows[parent])
            rng = seeding.rng(seed, "match", index)
            spec = getattr(model, "context_spec_", None)
            if spec is not None and parent in parent_of and target and real_parents:
                # a conditional table model draws each row given its synthetic parent row: no matching, every
                # row keeps its parent (and a conditioned value its value); a second window of the same
                # table (more than four children) links its children to the same rows without adopting again
                grand, columns, siblings = spec
                held = {t: np.bincount(parent_of[t], minlength=len(rows[grand])) if t in parent_of
                        else np.zeros(len(rows[grand])) for t in siblings}
                context = table_models.parent_context(rows[grand][columns].reset_index(drop=True), parent_of[parent], held)
                forced = {mix.column: rows[parent][mix.column].reset_index(drop=True)} if mix is not None else None
                sampled = model.sample(target, seed, context=context, forced=forced, **options)
                match = np.arange(target)
            elif mix is not None and target and real_parents:
                # the parents drawn here hold the named values as often as the rows they are matched to,
                # and are matched within each value, so the existing rows keep theirs
                group = value_groups(rows[parent][mix.column], mix.values)
                options["parent_counts"] = (mix.column, {v: int((group == i).sum()) for i, v in enumerate(mix.values)})
                sampled = model.sample(target, seed, **options)
                drawn_group = value_groups(sampled[parent][mix.column], mix.values)
                match = match_by_group(rows[parent], sampled[parent], self.plans_[parent].learned, rng, group, drawn_group)
            else:
                sampled = model.sample(target, seed, **options) if target and real_parents else model.empty()
                match = match_rows(rows[parent], sampled[parent], self.plans_[parent].learned, rng)
            keep = match >= 0
            key_to_pos = pd.Series(match[keep], index=sampled[parent][KEY].to_numpy()[keep])
            if parent not in adopted:
                self._adopt(rows[parent], sampled[parent], match)
                adopted.add(parent)
        for child in window.children:
            frame = sampled[child]
            pos = frame[fk_column(self.plans_[child].primary_fk)].map(key_to_pos)
            frame = frame[pos.notna()].reset_index(drop=True)
            rows[child] = frame
            parent_of[child] = pos.dropna().astype(int).to_numpy()

    # --- conditions --------------------------------------------------------------------------------
    def resolve_conditions(self, rebalance=None, where=None) -> dict[str, conditions.Mix]:
        """The conditions as the model holds them, one :class:`~synthbank.relational.conditions.Mix` per table.

        ``rebalance`` maps ``"table.column"`` to ``{value: share}`` (the target share of the table's rows;
        values not named share the rest in the learned odds); ``where`` maps ``"table.column"`` to the one
        value every row holds. Values may be given as the model holds them or as text ("true", "A").
        Refused in one sentence: an unknown table or column, a key, PII, text or numeric column, a value the
        model never learned (rare values never reach it), a share outside (0, 1) or shares that leave
        nothing for the other values, two conditions on one table, a model of SDV's own HMA engine."""
        self._check_fitted()
        if getattr(self, "dp_", None) is not None and (rebalance or where):
            dp_fit.refuse_conditions()
        out = {}
        for table, column, shares, fixed in conditions.check_requested(self.schema_, rebalance, where):
            name = f"{table}.{column}"
            if table not in self.plans_ or column not in self.plans_[table].learned:
                raise conditions.ConditionError(f"{name} is not learned by this model, so it cannot be conditioned.")
            models = self._window_models(table)
            if not all(isinstance(m, FastHMA) for m in models):
                raise conditions.ConditionError(f"Conditions need the fast engine; this model was fitted with SDV's HMA "
                                                f"(--engine sdv), which cannot condition {name}.")
            intervals, _ = models[0].categories(table, column)
            categories = list(intervals)
            resolved = {conditions.resolve_value(v, categories, name): float(s) for v, s in shares.items()}
            if len(resolved) < len(shares):
                raise conditions.ConditionError(f"{name}: two of the values given name the same value.")
            conditions.check_shares(name, resolved, categories, fixed)
            out[table] = conditions.Mix(table, column, tuple(resolved.items()), fixed)
        return out

    def tally(self, rebalance=None, where=None) -> conditions.MixTally:
        """A counter of the requested, achieved and real shares of the conditions, for :meth:`sample_blocks`."""
        mixes = self.resolve_conditions(rebalance, where)
        real = {}
        for table, mix in mixes.items():
            real[table] = self._window_models(table)[0].categories(table, mix.column)[1]
        return conditions.MixTally(mixes, real)

    def _window_models(self, table: str) -> list:
        """The fitted models of the windows ``table`` is part of, in sampling order."""
        return [self.hmas_[i] for i, w in enumerate(self.windows_) if table in w.tables]


def sample_block_task(model: BlockSampling, item: tuple) -> dict:
    """A task of :meth:`BlockSampling.sample_blocks`: one block's rows, as Arrow tables."""
    return to_arrow(*model.sample_block_rows(*item))


def value_groups(values: pd.Series, named: list) -> np.ndarray:
    """Per row, the position in ``named`` of the value it holds (-1: none of them)."""
    held = values.astype(object)
    group = np.full(len(held), -1)
    for number, value in enumerate(named):
        group[(held == value).to_numpy()] = number
    return group
