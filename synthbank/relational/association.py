"""Which parents a child's value goes with: ``P(child value | parent row)``, learned from the real links.

HMA's per-parent child models carry the association only through each parent's encoded mean and spread
of the column, which for a rare flag is mostly noise (a uniform draw inside the flag's interval of
[0, 1]): every parent looks about as likely to have a flagged child as any other. When a condition raises
a child value's share, the extra rows should go to the parents real rows of that value belong to (flagged
accounts to business customers), so for the boolean columns of child tables (and, with
``class_models="categories"``, the categorical ones with few values) the engine also fits a multinomial
logistic regression of the child's value on its parent's learned columns (numbers standardised, categories
one-hot), weighting each child row alike. Only its coefficients are kept: an aggregate of the real links,
as the copulas' parameters are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Categories of a parent column one-hot encoded at most (the most common; the rest share a zero row).
MAX_LEVELS = 30
#: Child rows the regression is fitted on at most (a seeded sample).
FIT_ROWS = 50_000


@dataclass
class Association:
    column: str
    categories: list  # the child values, as the model holds them
    numbers: dict[str, tuple[float, float]]  # parent column -> (mean, std)
    levels: dict[str, list]  # parent column -> one-hot levels
    coef: list[list[float]]
    intercept: list[float]

    @classmethod
    def learn(cls, column: str, values: pd.Series, parents: pd.DataFrame, sdtypes: dict[str, str],
              seed: int = 0) -> Association | None:
        """``values``: the child column; ``parents``: per child row, its parent's learned columns."""
        from sklearn.linear_model import LogisticRegression

        keep = values.notna().to_numpy()
        values, parents = values[keep].reset_index(drop=True), parents[keep].reset_index(drop=True)
        if values.nunique() < 2 or parents.shape[1] == 0:
            return None
        if len(values) > FIT_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(len(values), FIT_ROWS, replace=False))
            values, parents = values.iloc[rows].reset_index(drop=True), parents.iloc[rows].reset_index(drop=True)
        numbers, levels = {}, {}
        for name, sdtype in sdtypes.items():
            if name not in parents:
                continue
            if sdtype == "numerical":
                series = pd.to_numeric(parents[name], errors="coerce").astype(float)
                spread = float(series.std()) if series.notna().sum() > 1 else 0.0
                if spread > 0:
                    numbers[name] = (float(series.mean()), spread)
            else:
                common = parents[name].astype(object).value_counts().index[:MAX_LEVELS]
                if len(common) > 1:
                    levels[name] = [_plain(v) for v in common]
        association = cls(column, [], numbers, levels, [], [])
        x = association.features(parents)
        if x.shape[1] == 0:
            return None
        model = LogisticRegression(max_iter=300, C=1.0)
        labels = values.astype(object).map(_plain).to_numpy()
        model.fit(x, labels.astype(str))
        by_text = {str(v): v for v in labels}
        association.categories = [by_text[c] for c in model.classes_]
        association.coef = model.coef_.tolist()
        association.intercept = model.intercept_.tolist()
        return association

    def features(self, parents: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, (mean, std) in self.numbers.items():
            values = pd.to_numeric(parents[name], errors="coerce").astype(float).fillna(mean).to_numpy(dtype=float)
            parts.append(((values - mean) / std)[:, None])
        for name, levels in self.levels.items():
            held = parents[name].astype(object).map(_plain)
            parts.append(np.column_stack([(held == level).to_numpy(dtype=float) for level in levels]))
        return np.hstack(parts) if parts else np.zeros((len(parents), 0))

    def probabilities(self, parents: pd.DataFrame, categories: list) -> np.ndarray:
        """Per parent row, the probability of each of ``categories`` (the encoder's order; values the
        regression never saw get none)."""
        x = self.features(parents)
        coef, intercept = np.asarray(self.coef), np.asarray(self.intercept)
        if len(self.categories) == 2 and coef.shape[0] == 1:  # a binary model: one row for the second class
            logit = x @ coef[0] + intercept[0]
            known = np.column_stack([1 / (1 + np.exp(logit)), 1 / (1 + np.exp(-logit))])
        else:
            scores = x @ coef.T + intercept
            scores -= scores.max(axis=1, keepdims=True)
            known = np.exp(scores)
            known /= known.sum(axis=1, keepdims=True)
        out = np.zeros((len(parents), len(categories)))
        index = {str(_plain(c)): i for i, c in enumerate(self.categories)}
        for j, category in enumerate(categories):
            i = index.get(str(_plain(category)))
            if i is not None:
                out[:, j] = known[:, i]
        return out

    def to_dict(self) -> dict:
        return {"column": self.column, "categories": [_plain(c) for c in self.categories], "numbers": self.numbers,
                "levels": self.levels, "coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> Association:
        return cls(data["column"], list(data["categories"]), {k: tuple(v) for k, v in data["numbers"].items()},
                   {k: list(v) for k, v in data["levels"].items()}, data["coef"], data["intercept"])


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
