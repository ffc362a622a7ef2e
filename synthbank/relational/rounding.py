"""Numbers and instants written as the real ones are: on their decimals and round steps, and on the
resolution an instant column is written at (used by :mod:`synthbank.relational.rule_keeping`).

``spec`` is a :class:`~synthbank.relational.rule_keeping.ColumnRules`: its ``decimals``, its ``steps`` (the
largest first) and, learned by :func:`learn_steps`, the quartile ``edges`` of the column's non-zero values
with, per quarter, the shares of values on each step (the largest that divides them) and on none.
"""

from __future__ import annotations

import numpy as np

from synthbank.schemas.rule_discovery import on_step


def learn_steps(spec, values: np.ndarray) -> None:
    """Per quarter of the values, the shares of values on each step (the largest that divides them) and off."""
    known = values[np.isfinite(values) & (values != 0)]  # 0 is on every step, and stays 0
    if not len(known):
        return
    spec.edges = [float(f"{q:.2g}") for q in np.quantile(known, [0.25, 0.5, 0.75])]
    level = levels(known, spec.steps)
    quarter = np.searchsorted(spec.edges, known, side="right")
    spec.step_shares = []
    for q in range(len(spec.edges) + 1):
        counts = np.bincount(level[quarter == q], minlength=len(spec.steps) + 1).astype(float)
        spec.step_shares.append([round(float(c), 6) for c in counts / max(counts.sum(), 1)])


def levels(values: np.ndarray, steps: list[float]) -> np.ndarray:
    """0: on no step; i: on ``steps[i-1]`` (the largest first)."""
    level = np.zeros(len(values), dtype=int)
    for i, step in reversed(list(enumerate(steps, start=1))):
        level[on_step(values, step)] = i
    return level


def round_values(spec, x, lower, upper, rng) -> np.ndarray:
    """Values on their decimals and, in the learned shares, on round steps, never across a bound."""
    out = np.round(x, spec.decimals)
    if spec.steps and spec.step_shares:
        quarter = np.searchsorted(spec.edges, np.nan_to_num(x), side="right")
        # a value the model drew already on a step (a tree's atom: a real heap, in its real share) keeps it;
        # the others are put on steps in what the learned shares leave
        held = levels(np.nan_to_num(out), spec.steps)
        held[~np.isfinite(x) | (out == 0)] = 0
        level = np.zeros(len(x), dtype=int)
        for q, shares in enumerate(spec.step_shares):
            rows = np.flatnonzero(quarter == q)
            if not len(rows) or sum(shares) <= 0:
                continue
            free = rows[held[rows] == 0]
            wanted = np.asarray(shares, dtype=float) / sum(shares) * len(rows)
            wanted[1:] = np.maximum(wanted[1:] - np.bincount(held[rows], minlength=len(shares))[1:], 0.0)
            wanted[0] = max(len(free) - wanted[1:].sum(), 0.0)
            if len(free) and wanted.sum() > 0:
                level[free] = rng.choice(len(shares), size=len(free), p=wanted / wanted.sum())
        unit = 10.0 ** -spec.decimals
        for i, step in enumerate([unit, *spec.steps]):
            rows = (level == i) & np.isfinite(x) & (held == 0)
            if i:
                out[rows] = np.round(np.round(x[rows] / step) * step, spec.decimals)
            larger = [s for s in spec.steps if s > step] if i else list(spec.steps)
            # a value off the larger steps stays off them (the model's own round values would inflate their shares)
            on = rows & (out != 0) & np.any([on_step(out, s) for s in larger], axis=0) if larger else np.zeros(len(x), dtype=bool)
            out[on] = np.round(out[on] + step * rng.choice([-1, 1], int(on.sum())), spec.decimals)
    if lower is not None:  # a rounded value below its bound goes up by one step of its decimals
        low = np.round(np.ceil(np.round(lower * 10**spec.decimals, 6)) / 10**spec.decimals, spec.decimals)
        out = np.where(np.isfinite(low) & (out < low), low, out)
    if upper is not None:
        high = np.round(np.floor(np.round(upper * 10**spec.decimals, 6)) / 10**spec.decimals, spec.decimals)
        out = np.where(np.isfinite(high) & (out > high), high, out)
    return out


def on_grid(days: np.ndarray, grid: tuple[float, float], snap) -> np.ndarray:
    step, offset = grid
    return snap(np.round((days + offset) / step, 6)) * step - offset

