"""A Gaussian copula's marginal drawn from the data's own quantiles, none of them a person's value.

SDV fits each numeric column of a copula with one parametric family (``beta`` by default). Real columns
are rarely of one family: LendingClub's ``inquiries_last_12m`` (counts 0–24, 31% zeros) sampled from a
fitted beta is 0.31 away from the real one in Kolmogorov–Smirnov distance, ``current_installment_accounts``
0.41. A beta fitted to the ~90 rows of a rare class often has a shape parameter below 1, which piles
the class's rows up at its largest value: a classifier trained on such rows learns the pile, not the class.

:class:`QuantileUnivariate` is the column's empirical distribution, smoothed: the sorted values are cut into
groups of at least :data:`GROUP_ROWS` consecutive rows (at most :data:`MAX_KNOTS` groups), and each group
contributes one knot, the mean of its values at the middle of its ranks. Between knots the quantile
function is linear; the ends are the column's smallest and largest value, which
:func:`~synthbank.protection.tame_tails` has already made random draws before any model sees them. So
the model stores averages of at least five rows and two drawn numbers, no row's value (unless five or
more rows hold it, as a count of 0 or a rate of 5.0). A value many rows hold is a flat stretch of the
quantile function: sampling gives it back exactly, in its share.

It follows copulas' ``Univariate`` interface, so SDV's ``GaussianCopulaSynthesizer`` fits and samples it
like its own families (:func:`synthbank.relational.sdv_adapter.fit_copula` sets it as the default).
"""

from __future__ import annotations

import numpy as np
from copulas.univariate.base import BoundedType, ParametricType, ScipyModel

from synthbank.protection import DEFAULT_RARE_THRESHOLD

#: The fewest rows averaged into one knot (a rare value's threshold: five people are no one).
GROUP_ROWS = DEFAULT_RARE_THRESHOLD
#: The most knots a marginal keeps: the quantile function is drawn through them.
MAX_KNOTS = 200
#: The name the relational settings use for this marginal.
NAME = "quantiles"


def knots(values: np.ndarray, group_rows: int = GROUP_ROWS, max_knots: int = MAX_KNOTS) -> tuple[np.ndarray, np.ndarray]:
    """(levels in [0, 1], values): the quantile function's knots for ``values`` (see the module)."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    groups = int(max(1, min(max_knots, n // group_rows)))
    edges = np.linspace(0, n, groups + 1).round().astype(int)
    means = np.add.reduceat(x, edges[:-1]) / np.diff(edges)
    middles = (edges[:-1] + edges[1:]) / 2 / n
    levels = np.concatenate([[0.0], middles, [1.0]])
    points = np.maximum.accumulate(np.concatenate([[x[0]], means, [x[-1]]]))  # sums can round a hair down
    return levels, points


class QuantileUnivariate(ScipyModel):
    """The smoothed empirical distribution of a column (see the module), in copulas' interface."""

    PARAMETRIC = ParametricType.NON_PARAMETRIC
    BOUNDED = BoundedType.BOUNDED
    MODEL_CLASS = None

    def _fit_constant(self, X):
        value = float(np.unique(X)[0])
        self._params = {"levels": [0.0, 1.0], "points": [value, value]}

    def _fit(self, X):
        levels, points = knots(X)
        self._params = {"levels": levels.tolist(), "points": points.tolist()}

    def _is_constant(self):
        return self._params["points"][0] == self._params["points"][-1]

    def _extract_constant(self):
        return self._params["points"][0]

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self._params["levels"]), np.asarray(self._params["points"])

    def cumulative_distribution(self, X):
        """Each value's level; a value held by a flat stretch of knots (a point mass) gets its middle."""
        self.check_fit()
        levels, points = self._arrays()
        unique, start = np.unique(points, return_index=True)
        stop = np.append(start[1:], len(points)) - 1
        middle = (levels[start] + levels[stop]) / 2
        return np.interp(np.asarray(X, dtype=float), unique, middle)

    def percent_point(self, U):
        self.check_fit()
        levels, points = self._arrays()
        return np.interp(np.asarray(U, dtype=float), levels, points)

    def probability_density(self, X):
        """The slope of the piecewise-linear distribution function (0 outside the knots)."""
        self.check_fit()
        levels, points = self._arrays()
        x = np.asarray(X, dtype=float)
        width = np.diff(points)
        slopes = np.divide(np.diff(levels), width, out=np.zeros_like(width), where=width > 0)
        piece = np.clip(np.searchsorted(points, x, side="right") - 1, 0, len(slopes) - 1)
        inside = (x >= points[0]) & (x <= points[-1])
        return np.where(inside, slopes[piece], 0.0)

    def log_probability_density(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.probability_density(X))

    def sample(self, n_samples=1):
        self.check_fit()
        return self.percent_point(self.random_state.uniform(size=n_samples) if self.random_state is not None
                                  else np.random.uniform(size=n_samples))


__all__ = ["QuantileUnivariate", "knots", "GROUP_ROWS", "MAX_KNOTS", "NAME"]
