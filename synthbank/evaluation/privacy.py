"""Privacy: distance to closest record, exact copies, PII leaks and copied text.

- **DCR** per table, on the learned columns (numbers scaled by the real range, categories one-hot): the
  distance of each synthetic row to its closest real row. With a holdout (real rows the synthesizer never
  saw), the **DCR share** is the share of synthetic rows closer to a training row than to a holdout row
  (ties count half; about 50% is ideal, as in mostlyai-qa), and SDMetrics' ``DCROverfittingProtection``.
  Without one, the median DCR is shown beside that of one real half to the other.
- **exact copies**: synthetic rows equal to a real row on every learned column.
- **leaks**: real PII values, values of name-like columns and rare categories searched everywhere (see
  :mod:`synthbank.evaluation.leaks`); should be 0.
- **text copying**: share of synthetic texts sharing a run of ≥ 8 words with a training text, beside the
  same share for real held-out texts.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.evaluation.fidelity import as_numbers, learned_columns
from synthbank.schemas.model import DatabaseSchema

MAX_ROWS = 5000
COPY_NGRAM = 8


def encode_frames(reference: pd.DataFrame, *frames: pd.DataFrame, categories: int = 50) -> list[np.ndarray]:
    """Matrices of ``reference``'s columns for each of ``frames``: numbers min-max scaled on ``reference``
    (NULL → -1), other columns one-hot on its ``categories`` most common values (as text)."""
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for column in reference.columns:
        if pd.api.types.is_numeric_dtype(reference[column]):
            lo, hi = reference[column].min(), reference[column].max()
            lo, span = (0.0, 1.0) if pd.isna(lo) else (lo, (hi - lo) or 1.0)
            for block, frame in zip(blocks, frames):
                block.append(np.nan_to_num((frame[column].to_numpy(dtype=float) - lo) / span, nan=-1.0)[:, None])
        else:
            kept = np.asarray(reference[column].astype(str).value_counts().index[:categories])
            for block, frame in zip(blocks, frames):
                block.append((frame[column].astype(str).to_numpy()[:, None] == kept[None, :]).astype(float))
    return [np.hstack(b) if b else np.zeros((len(f), 0)) for b, f in zip(blocks, frames)]


def encode_rows(schema: DatabaseSchema, table: str, reference: pd.DataFrame, *frames: pd.DataFrame) -> list[np.ndarray]:
    """Matrices of the learned columns, numbers min-max scaled on ``reference``, categories one-hot."""
    columns = {c: schema.tables[table].columns[c].sdtype for c in learned_columns(schema, table)}

    def numbered(frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for column, sdtype in columns.items():
            numbers = as_numbers(frame[column], sdtype)
            out[column] = numbers.astype(float) if numbers is not None else frame[column].astype(str)  # labels, as text
        return pd.DataFrame(out, index=frame.index, columns=list(columns))

    return encode_frames(numbered(reference), *(numbered(f) for f in frames))


def _nearest(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    distances = NearestNeighbors(n_neighbors=1).fit(reference).kneighbors(query)[0][:, 0]
    return np.where(distances < 1e-6, 0.0, distances)  # float noise of the distance computation is a match


def _cap(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    return frame.sample(MAX_ROWS, random_state=seed) if len(frame) > MAX_ROWS else frame


def dcr(schema: DatabaseSchema, table: str, real: pd.DataFrame, synthetic: pd.DataFrame,
        holdout: pd.DataFrame | None, seed: int = 0) -> dict | None:
    if not learned_columns(schema, table) or real.empty or synthetic.empty:
        return None
    real_s, syn_s = _cap(real, seed), _cap(synthetic, seed)
    out: dict = {}
    if holdout is not None and not holdout.empty:
        hold_s = _cap(holdout, seed)
        n = min(len(real_s), len(hold_s))  # equal sizes, so that 50% is the ideal share
        real_s, hold_s = real_s.sample(n, random_state=seed), hold_s.sample(n, random_state=seed)
        r, s, h = encode_rows(schema, table, real, real_s, syn_s, hold_s)
        to_train, to_holdout = _nearest(r, s), _nearest(h, s)
        out["dcr_share"] = float(((to_train < to_holdout) + 0.5 * (to_train == to_holdout)).mean())
        out["median_dcr"] = float(np.median(to_train))
        out["holdout_median_dcr"] = float(np.median(_nearest(r, h)))
        out["synthetic_dcr"] = to_train
        out["holdout_dcr"] = _nearest(r, h)
        out["dcr_overfitting_protection"] = _sdmetrics_dcr(schema, table, real_s, syn_s, hold_s)
    else:
        order = seeding.rng(seed, "evaluation", "dcr halves", table).permutation(len(real_s))
        half_a, half_b = real_s.iloc[order[: len(order) // 2]], real_s.iloc[order[len(order) // 2:]]
        r, s, a, b = encode_rows(schema, table, real, real_s, syn_s, half_a, half_b)
        out["median_dcr"] = float(np.median(_nearest(r, s)))
        out["synthetic_dcr"] = _nearest(r, s)
        out["holdout_dcr"] = _nearest(a, b)
        out["holdout_median_dcr"] = float(np.median(out["holdout_dcr"]))
        out["note"] = "no holdout given: DCR share needs real rows the synthesizer never saw"
    out["zero_dcr_share"] = float((out["synthetic_dcr"] == 0).mean())
    return out


def _sdmetrics_dcr(schema, table, real, synthetic, holdout) -> float | None:
    from sdmetrics.single_table import DCROverfittingProtection

    from synthbank.evaluation.fidelity import sdmetrics_frames
    from synthbank.schemas.sdv_metadata import to_sdv_metadata

    sub = schema.subset([table])
    metadata = to_sdv_metadata(sub).metadata.to_dict()["tables"][table]
    frames = [sdmetrics_frames(sub, {table: f})[table] for f in (real, synthetic, holdout)]
    try:
        return float(DCROverfittingProtection.compute(frames[0], frames[1], frames[2], metadata))
    except Exception:  # SDMetrics refuses some column mixes; the DCR share above still stands
        return None


def exact_copies(schema: DatabaseSchema, table: str, real: pd.DataFrame, synthetic: pd.DataFrame) -> float | None:
    columns = learned_columns(schema, table)
    if not columns or synthetic.empty:
        return None
    def rows(frame):
        return pd.util.hash_pandas_object(frame[columns].astype(str), index=False)
    return float(rows(synthetic).isin(set(rows(real))).mean())


def text_copying(train_texts: pd.Series, synthetic_texts: pd.Series, holdout_texts: pd.Series | None) -> dict:
    """Share of synthetic texts sharing a run of ``COPY_NGRAM`` words with a training text (or equal to one),
    beside the same share for real held-out texts. Computed here, in memory, not with the text engine's filter."""
    train = [_words(t) for t in train_texts.dropna().astype(str)]
    runs = {run for words in train for run in _runs(words)}
    whole = {words for words in train}

    def copies(text: str) -> bool:
        words = _words(text)
        return words in whole or any(run in runs for run in _runs(words))

    synthetic = synthetic_texts.dropna().astype(str)
    out = {"ngram": COPY_NGRAM, "synthetic_share": float(np.mean([copies(t) for t in synthetic])) if len(synthetic) else 0.0,
           "synthetic_exact": int(sum(_words(t) in whole for t in synthetic))}
    if holdout_texts is not None and len(holdout_texts.dropna()):
        out["holdout_share"] = float(np.mean([copies(t) for t in holdout_texts.dropna().astype(str)]))
    return out


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", text.lower()))


def _runs(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [words[i:i + COPY_NGRAM] for i in range(len(words) - COPY_NGRAM + 1)]
