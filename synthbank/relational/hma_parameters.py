"""HMA's per-parent parameters of a child table: fitting them for all parents at once.

For each child table of a window, SDV's ``HMASynthesizer`` fits one Gaussian copula per parent row to that
parent's children and appends its parameters to the parent row as *extension* columns. :func:`extension`
computes the same columns for every parent with grouped array operations, from the child table encoded
once (:class:`ChildTable` holds the encoder and the column names):

* ``num_rows``: the parent's number of children;
* per encoded column, ``loc`` = mean and ``scale`` = standard deviation (HMA's ``norm`` marginals, as
  copulas fits them: ``ddof=0``; a constant column gets scale 0);
* the Pearson correlations of the standardised columns (NaN → 0);
* HMA's fill-ins: a parent with one child has no scale and a parent with no children no parameters, so
  those cells take the column's mean over the other parents (an all-NaN column takes 1e-6).

The parent's copula learns these columns with the parent's own (:mod:`~synthbank.relational.hma_parents`);
:mod:`~synthbank.relational.hma_children` turns sampled parameters back into children.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: HMA's marginal for extension columns (``sdv.multi_table.hma.DEFAULT_EXTENDED_COLUMNS_DISTRIBUTION``).
EXTENSION_DISTRIBUTION = "truncnorm"


@dataclass
class ChildTable:
    """One child table of a window as the fast engine models it: its link, columns, encoder and extension names."""

    name: str
    fk: str  # the child's column holding the parent's key
    columns: list[str]  # learned columns, as given
    encoded: list[str]  # columns of the encoded (numeric) frame
    encoder: object  # fitted rdt.HyperTransformer
    prefix: str  # of this child's extension columns in the parent model

    def extension_names(self) -> tuple[str, list[str], list[str], list[str]]:
        d = len(self.encoded)
        p = self.prefix
        return (f"{p}num_rows", [f"{p}loc{j}" for j in range(d)], [f"{p}scale{j}" for j in range(d)],
                [f"{p}corr{i}_{j}" for i in range(1, d) for j in range(i)])


def extension(values: np.ndarray, groups: np.ndarray, n_parents: int, child: ChildTable) -> pd.DataFrame:
    """Per parent: number of children, each encoded column's mean and standard deviation, and the
    correlations of the standardised columns — HMA's extension columns, with HMA's fill-ins."""
    num_rows_name, loc_names, scale_names, corr_names = child.extension_names()
    counts = np.bincount(groups, minlength=n_parents).astype(float)
    out = {num_rows_name: counts}
    d = values.shape[1]
    if d == 0:
        return pd.DataFrame(out)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.stack([np.bincount(groups, weights=values[:, j], minlength=n_parents) for j in range(d)], axis=1)
        mean /= counts[:, None]
        centred = values - mean[groups]
        std = np.sqrt(np.stack([np.bincount(groups, weights=centred[:, j] ** 2, minlength=n_parents)
                                for j in range(d)], axis=1) / counts[:, None])
        correlations = []
        for i in range(1, d):
            for j in range(i):
                cov = np.bincount(groups, weights=centred[:, i] * centred[:, j], minlength=n_parents) / counts
                corr = cov / (std[:, i] * std[:, j])
                correlations.append(np.where(np.isfinite(corr), np.clip(corr, -1.0, 1.0), 0.0))
    # copulas: a constant column has scale 0; HMA drops the scale of a single child (NaN, filled below)
    std = np.where(np.isclose(std, 0.0, atol=1e-12), 0.0, std)
    std[counts == 1] = np.nan
    for j in range(d):
        out[loc_names[j]] = mean[:, j]
        out[scale_names[j]] = std[:, j]
    for name, corr in zip(corr_names, correlations):
        out[name] = np.where(counts > 0, corr, np.nan)
    frame = pd.DataFrame(out)
    for column in frame.columns:  # HMA: an all-NaN column → 1e-6, else NaN → the column's mean
        values_ = frame[column]
        frame[column] = values_.fillna(1e-6 if values_.isna().all() else values_.mean())
    return frame
