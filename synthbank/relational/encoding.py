"""Category orders that let a Gaussian copula see associations.

SDV's Gaussian copulas turn a categorical column into numbers with RDT's ``UniformEncoder``: each category
gets an interval of [0, 1] in order of frequency. A copula captures only monotone dependence, so when the
order of the categories is unrelated to the other columns (grade A…G in frequency order, say) the link
between grade and interest rate — or between product and sub-product — is mostly lost.

:func:`category_orders` computes, for each categorical column, an order in which neighbouring categories
behave alike: every category is described by its profile (the mean of each standardised numeric column and
the distribution of each other categorical column over its rows), and categories are sorted along the
first principal direction of those profiles (weighted by frequency). The orders go to RDT's
``OrderedUniformEncoder`` through SDV's public ``update_transformers``; the learned statistics are unchanged
otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Categorical columns with more distinct values than this keep SDV's default encoder.
MAX_CATEGORIES = 500


def category_orders(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> dict[str, list]:
    numbers = {}
    for column in numeric:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.astype("int64").where(values.notna())
        values = pd.to_numeric(values, errors="coerce").astype(float)
        spread = values.std()
        if spread and np.isfinite(spread):
            numbers[column] = ((values - values.mean()) / spread).fillna(0.0)
    orders = {}
    for column in categorical:
        labels = frame[column].astype(object).where(frame[column].notna(), None)
        categories = labels.dropna().unique()
        if not 3 <= len(categories) <= MAX_CATEGORIES:
            continue
        profiles = [pd.DataFrame({name: values.groupby(labels).mean() for name, values in numbers.items()})]
        for other in categorical:
            if other != column and frame[other].nunique() <= MAX_CATEGORIES:
                profiles.append(pd.crosstab(labels, frame[other].astype(str), normalize="index"))
        profile = pd.concat(profiles, axis=1).reindex(categories).fillna(0.0)
        if profile.shape[1] == 0:
            continue
        weights = labels.value_counts().reindex(categories).to_numpy(dtype=float)
        centered = profile.to_numpy() - np.average(profile.to_numpy(), axis=0, weights=weights)
        _, _, directions = np.linalg.svd(centered * np.sqrt(weights)[:, None], full_matrices=False)
        score = centered @ directions[0]
        orders[column] = [categories[i] for i in np.argsort(score, kind="stable")]
    return orders
