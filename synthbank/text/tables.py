"""The text engine inside a database: one :class:`TextSynthesizer` per free-text column.

Each text column is conditioned on the categorical and boolean fields of its own row and of the parent
rows its foreign keys point to (named ``parent.column`` in the prompt). Of those candidates, the ones the
text actually depends on are kept: a quick TF-IDF classifier must predict the field from the text
clearly better than always guessing its most common value (at most ``MAX_CONTEXT`` fields; the prompt
costs training time). The real PII of every table is scrubbed from the training texts, and, while it is in
memory (fit and sample in one process), kept out of the generated ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.executors import Executor
from synthbank.progress import Progress
from synthbank.schemas.model import DatabaseSchema
from synthbank.text.distributed import generate_in_chunks
from synthbank.text.scrub import KIND_PLACEHOLDER, PiiScrubber
from synthbank.text.settings import TextSettings
from synthbank.text.synthesizer import TextSynthesizer

log = logging.getLogger(__name__)

MAX_CONTEXT = 6
MAX_CATEGORIES = 100
MIN_LIFT = 0.03


def candidate_context(schema: DatabaseSchema, table: str) -> list[tuple[str, str, str]]:
    """``(prompt name, table, column)`` for the categorical/boolean fields of the row and its parents."""
    own = schema.tables[table]
    out = [(c, table, c) for c, col in own.columns.items() if col.sdtype in ("categorical", "boolean")]
    for fk in own.foreign_keys:
        if fk.parent == table or fk.parent not in schema.tables or schema.tables[fk.parent].is_excluded:
            continue
        parent = schema.tables[fk.parent]
        prefix = fk.parent if sum(f.parent == fk.parent for f in own.foreign_keys) == 1 else f"{fk.parent}({','.join(fk.columns)})"
        out += [(f"{prefix}.{c}", fk.parent, c) for c, col in parent.columns.items() if col.sdtype in ("categorical", "boolean")]
    return out


def context_frame(schema: DatabaseSchema, tables: Mapping[str, pd.DataFrame], table: str,
                  fields: list[tuple[str, str, str]]) -> pd.DataFrame:
    """The context fields for every row of ``tables[table]`` (parents joined by foreign key)."""
    own = schema.tables[table]
    frame = tables[table]
    out = pd.DataFrame(index=frame.index)
    for name, source, column in fields:
        if source == table and "." not in name:
            out[name] = frame[column]
    for fk in own.foreign_keys:
        wanted = [(name, column) for name, source, column in fields if source == fk.parent and "." in name
                  and name.split(".", 1)[0] in (fk.parent, f"{fk.parent}({','.join(fk.columns)})")]
        if not wanted or fk.parent not in tables:
            continue
        parent = tables[fk.parent][[*fk.parent_columns, *{c for _, c in wanted}]].drop_duplicates(fk.parent_columns)
        left = frame[fk.columns].copy()
        left.columns = fk.parent_columns
        joined = left.merge(parent, how="left", on=fk.parent_columns).set_index(frame.index)
        for name, column in wanted:
            out[name] = joined[column]
    return out[[name for name, _, _ in fields]]


def category_lift(texts: pd.Series, values: pd.Series) -> float:
    """How much better than the majority share a TF-IDF classifier predicts ``values`` from ``texts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    labels = values.astype(str)
    counts = labels.value_counts()
    if len(counts) < 2 or len(counts) > MAX_CATEGORIES:
        return 0.0
    common = labels.isin(counts[counts >= 3].index)
    if common.sum() < 20 or labels[common].nunique() < 2:
        return 0.0
    model = make_pipeline(TfidfVectorizer(min_df=2, sublinear_tf=True), LogisticRegression(max_iter=500))
    accuracy = cross_val_score(model, texts[common], labels[common], cv=3).mean()
    return float(accuracy - counts.iloc[0] / len(labels))


def choose_context(texts: pd.Series, frame: pd.DataFrame) -> list[str]:
    """The context columns the texts depend on, most first; at most ``MAX_CONTEXT``."""
    keep = texts.notna() & (texts.astype(str).str.strip() != "")
    texts, frame = texts[keep].astype(str), frame[keep]
    if len(texts) > 3000:
        pick = np.random.default_rng(0).choice(len(texts), 3000, replace=False)
        texts, frame = texts.iloc[pick], frame.iloc[pick]
    lifts = {c: category_lift(texts, frame[c]) for c in frame.columns}
    chosen = sorted((c for c, v in lifts.items() if v >= MIN_LIFT), key=lambda c: -lifts[c])[:MAX_CONTEXT]
    log.info("context lifts: %s", {c: round(v, 3) for c, v in lifts.items()})
    return chosen


def pii_values(schema: DatabaseSchema, tables: Mapping[str, pd.DataFrame]) -> dict[str, list]:
    """Every real value of every PII column, per PII kind."""
    values: dict[str, list] = {}
    for name, table in schema.tables.items():
        if name not in tables:
            continue
        for column in table.columns_of("pii"):
            if column in tables[name]:
                values.setdefault(table.columns[column].pii or "name", []).extend(tables[name][column].dropna().tolist())
    return values


def _row_values(schema: DatabaseSchema, tables: Mapping[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """Per synthetic row, its own (or its parents') synthetic PII per placeholder, e.g. the customer's name."""
    own = schema.tables[table]
    sources = [(table, None)] + [(fk.parent, fk) for fk in own.foreign_keys if fk.parent in tables and fk.parent != table]
    frame = tables[table]
    out = pd.DataFrame(index=frame.index)
    for source, fk in sources:
        spec = schema.tables[source]
        for column in spec.columns_of("pii"):
            placeholder = KIND_PLACEHOLDER.get(spec.columns[column].pii or "")
            if placeholder in (None, *out.columns) or spec.columns[column].pii in ("first_name", "last_name"):
                continue
            if fk is None:
                out[placeholder] = frame[column] if column in frame else None
            else:
                parent = tables[source][[*fk.parent_columns, column]].drop_duplicates(fk.parent_columns)
                left = frame[fk.columns].copy()
                left.columns = fk.parent_columns
                out[placeholder] = left.merge(parent, how="left", on=fk.parent_columns)[column].to_numpy()
    return out


def training_summary(stats, max_new_tokens: int | None) -> dict:
    return {"texts": stats.examples, "steps": stats.steps, "stopped": stats.stopped, "seconds": round(stats.seconds, 1),
            "tokens_per_second": round(stats.tokens_per_second, 1), "validation_loss": stats.validation_loss,
            "bfloat16": stats.bfloat16, "max_length": stats.max_length, "max_new_tokens": max_new_tokens, "dp": stats.dp}


class DatabaseTexts:
    """Fits and applies the text models of every free-text column of a schema."""

    def __init__(self, schema: DatabaseSchema, settings: TextSettings | None = None, *, rare_threshold: int | None = None):
        self.schema = schema
        self.settings = settings if settings is not None else TextSettings()
        self.rare_threshold = rare_threshold

    def fit(self, tables: Mapping[str, pd.DataFrame], progress: Progress | None = None) -> DatabaseTexts:
        self.models_: dict[tuple[str, str], TextSynthesizer] = {}
        self.fields_: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        self.null_share_: dict[tuple[str, str], float] = {}
        self.real_pii_ = pii_values(self.schema, tables)  # in memory only, never saved
        for table, spec in self.schema.tables.items():
            if not spec.is_synthesized or table not in tables:
                continue
            for column in spec.columns_of("text"):
                texts = tables[table][column]
                present = texts.notna() & (texts.astype(str).str.strip() != "")
                if not present.any():
                    log.warning("%s.%s has no text to learn from; it stays empty", table, column)
                    continue
                candidates = candidate_context(self.schema, table)
                frame = context_frame(self.schema, tables, table, candidates)
                chosen = choose_context(texts, frame)
                fields = [f for f in candidates if f[0] in chosen]
                order = [name for name, _, _ in fields]  # the prompt keeps the schema's order
                data = frame[order].assign(**{"__text__": texts})
                model = TextSynthesizer(**self.settings.synthesizer_options(), rare_threshold=self.rare_threshold)
                model.fit(data, "__text__", order, pii_values=self.real_pii_, balance_by=chosen[0] if chosen else None,
                          progress=(lambda e, c=f"{table}.{column}": progress(replace(e, item=c))) if progress else None)
                model.text_column_ = column
                self.models_[(table, column)] = model
                self.fields_[(table, column)] = fields
                self.null_share_[(table, column)] = float(1 - present.mean())
        return self

    def fill(self, tables: dict[str, pd.DataFrame], seed: int = 0, progress: Progress | None = None,
             executor: Executor | None = None) -> dict[str, pd.DataFrame]:
        """Write every learned text column of the synthetic ``tables`` (in place; also returned), in chunks of
        rows that ``executor`` may spread over workers (:mod:`synthbank.text.distributed`)."""
        if getattr(self, "_forbidden", None) is None and getattr(self, "real_pii_", None):
            self._forbidden = PiiScrubber(self.real_pii_)  # built once: every block (and worker) reuses it
        forbidden = getattr(self, "_forbidden", None)
        for (table, column), model in self.models_.items():
            if table not in tables or tables[table].empty:
                continue
            frame = tables[table]
            context = context_frame(self.schema, tables, table, self.fields_[(table, column)])
            rng = seeding.rng(seed, "text nulls", table, column)
            empty = rng.random(len(frame)) < self.null_share_[(table, column)]
            texts = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            rows = np.flatnonzero(~empty)
            if len(rows):
                generated = generate_in_chunks(model, context.iloc[rows], seed=seeding.int_seed(seed, "text", table, column),
                                               row_values=_row_values(self.schema, tables, table).iloc[rows],
                                               forbidden=forbidden, executor=executor, progress=progress,
                                               label=f"{table}.{column}")
                texts.iloc[rows] = generated.to_numpy()
            if not self.schema.tables[table].columns[column].nullable:
                texts = texts.fillna("")
            frame[column] = texts
        return tables

    def training_summary(self) -> dict[str, dict]:
        """Per ``table.column``: how its text model was trained (steps, why it stopped, speed, the DP guarantee)."""
        return {f"{t}.{c}": training_summary(model.training_stats_, model.max_new_tokens_) for (t, c), model in self.models_.items()}

    @staticmethod
    def read_training_summary(directory: Path) -> dict[str, dict]:
        """:meth:`training_summary` read from a saved ``text`` directory, without loading any weights."""
        import json

        from synthbank.text.training import TrainingStats

        out = {}
        for entry in json.loads((directory / "texts.json").read_text())["columns"]:
            state = json.loads((directory / entry["dir"] / "text_model.json").read_text())
            out[f"{entry['table']}.{entry['column']}"] = training_summary(TrainingStats(**state["training_stats"]),
                                                                          state.get("max_new_tokens"))
        return out

    @property
    def base_model(self) -> str:
        return next(iter(self.models_.values())).base_model_ if self.models_ else str(self.settings.base_model or "")

    @property
    def columns(self) -> list[str]:
        return [f"{t}.{c}" for t, c in self.models_]

    def save(self, directory: Path) -> None:
        import json

        directory.mkdir(parents=True, exist_ok=True)
        index = []
        for i, ((table, column), model) in enumerate(self.models_.items()):
            name = re.sub(r"[^\w.-]", "_", f"{i}-{table}.{column}")
            model.save(directory / name)
            index.append({"table": table, "column": column, "dir": name, "fields": self.fields_[(table, column)],
                          "null_share": self.null_share_[(table, column)]})
        (directory / "texts.json").write_text(json.dumps({"settings": self.settings.to_dict(), "rare_threshold": self.rare_threshold,
                                                           "columns": index}, indent=1))

    @classmethod
    def load(cls, directory: Path, schema: DatabaseSchema, device: str | None = None) -> DatabaseTexts:
        import json

        state = json.loads((directory / "texts.json").read_text())
        self = cls(schema, TextSettings.from_dict(state["settings"]), rare_threshold=state["rare_threshold"])
        self.models_, self.fields_, self.null_share_ = {}, {}, {}
        for entry in state["columns"]:
            key = (entry["table"], entry["column"])
            self.models_[key] = TextSynthesizer.load(directory / entry["dir"], device=device)
            self.models_[key].text_column_ = entry["column"]
            self.fields_[key] = [tuple(f) for f in entry["fields"]]
            self.null_share_[key] = entry["null_share"]
        return self
