"""The privacy budget of a DP table model: split into parts, each part's noise calibrated and accounted for.

A part is a group of Gaussian mechanisms that share one noise multiplier ``z`` (the noise's standard deviation
over the release's L2 sensitivity): the row counts, the marginals, the category sets, the children counts,
the correlations. Inside a part the releases compose by Rényi DP, with Opacus' RDP accountant (a release that
sees all the data is a step of sampling rate 1); the parts compose by the basic theorem, so the model's ε and δ
are the sums of the parts' (:meth:`Budget.total`), and each part states its own.

A threshold that decides which categories are released (a value held by one person must not appear) spends
no ε but a δ of its own: the chance that noise lifts one person's value over the threshold
(:func:`release_threshold`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from synthbank.errors import SynthbankError

warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")

#: How the budget is shared between the parts (ε and δ alike); a part the model does not use gives its share to the others.
SHARES = {"row counts": 0.05, "marginals": 0.45, "categories": 0.0, "children counts": 0.10, "correlations": 0.40}
#: The share of δ kept for the category thresholds (the rest goes to the Gaussian mechanisms by ``SHARES``).
THRESHOLD_DELTA_SHARE = 0.2
#: The unit of privacy of the tables' guarantee.
PERSON = "a person: a root row and every row under it"


def _alphas() -> list[float]:
    """Opacus' RDP orders and larger ones: a small ε (a part of a budget of 1) is reached at orders above 63."""
    from opacus.accountants import RDPAccountant

    return [*RDPAccountant.DEFAULT_ALPHAS, *[float(a) for a in np.geomspace(64, 1e5, 60)]]


class BudgetError(SynthbankError):
    """A privacy budget that cannot be met or spent."""


def noise_multiplier(epsilon: float, delta: float, releases: int) -> float:
    """The least ``z`` for which ``releases`` Gaussian mechanisms of noise ``z × sensitivity`` stay within
    (``epsilon``, ``delta``) by Opacus' RDP accountant."""
    from opacus.accountants.utils import get_noise_multiplier

    if epsilon <= 0 or not 0 < delta < 1 or releases < 1:
        raise BudgetError(f"A DP part needs epsilon > 0, 0 < delta < 1 and at least one release (got {epsilon}, {delta}, {releases}).")
    return float(get_noise_multiplier(target_epsilon=epsilon, target_delta=delta, sample_rate=1.0, steps=releases,
                                      accountant="rdp", epsilon_tolerance=epsilon / 200, alphas=_alphas()))


def spent(z: float, releases: int, delta: float) -> float:
    """ε of ``releases`` Gaussian mechanisms of noise multiplier ``z`` at ``delta`` (Opacus' RDP accountant)."""
    from opacus.accountants import RDPAccountant

    if not releases:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [(z, 1.0, releases)]
    return float(accountant.get_epsilon(delta, alphas=_alphas()))


def release_threshold(sigma: float, max_count: float, delta: float, values_per_person: int) -> float:
    """The noisy count a category needs to be released: one person adds at most ``max_count`` to each of at
    most ``values_per_person`` values, so a value only they hold crosses it with probability at most ``delta``
    (union bound over their values)."""
    return float(max_count + sigma * norm.isf(delta / max(values_per_person, 1)))


@dataclass
class Part:
    name: str
    epsilon: float  # the part's target
    delta: float
    releases: int = 0
    z: float | None = None
    threshold_delta: float = 0.0  # δ spent by category thresholds

    def spent(self) -> dict:
        epsilon = spent(self.z, self.releases, self.delta) if self.z is not None else 0.0
        used_delta = (self.delta if self.releases else 0.0) + self.threshold_delta
        return {"epsilon": epsilon, "delta": used_delta, "releases": self.releases,
                "noise_multiplier": self.z}


@dataclass
class Budget:
    """A total (``epsilon``, ``delta``) split over the parts that ``releases`` names (part → Gaussian releases)."""

    epsilon: float
    delta: float
    releases: dict[str, int]
    thresholds: int = 0  # category sets released with a threshold
    parts: dict[str, Part] = field(default_factory=dict)

    def __post_init__(self):
        if not self.epsilon > 0:
            raise BudgetError(f"The DP epsilon must be a positive number, got {self.epsilon}.")
        if not 0 < self.delta < 1:
            raise BudgetError(f"The DP delta must lie between 0 and 1, got {self.delta}.")
        used = {name: SHARES[name] for name, count in self.releases.items() if count and SHARES.get(name, 0) > 0}
        if not used:
            raise BudgetError("Nothing to release under the DP budget.")
        gaussian_delta = self.delta * (1 - THRESHOLD_DELTA_SHARE if self.thresholds else 1.0)
        total = sum(used.values())
        for name, share in used.items():
            part = Part(name, self.epsilon * share / total, gaussian_delta * share / total, self.releases[name])
            part.z = noise_multiplier(part.epsilon, part.delta, part.releases)
            self.parts[name] = part
        if self.thresholds:
            self.parts["categories"] = Part("categories", 0.0, 0.0, threshold_delta=self.delta * THRESHOLD_DELTA_SHARE)

    def z(self, part: str) -> float:
        return self.parts[part].z

    @property
    def threshold_delta(self) -> float:
        """δ of one category threshold (the thresholds' share of δ split evenly over them)."""
        return self.parts["categories"].threshold_delta / self.thresholds if self.thresholds else 0.0

    def statement(self) -> dict:
        """ε and δ spent per part and in total (basic composition of the parts: the sums)."""
        parts = {name: part.spent() for name, part in self.parts.items()}
        return {"epsilon": sum(p["epsilon"] for p in parts.values()), "delta": sum(p["delta"] for p in parts.values()),
                "target_epsilon": self.epsilon, "target_delta": self.delta, "unit": PERSON, "parts": parts}


def with_texts(tables: dict, texts: dict[str, dict]) -> dict:
    """The tables' statement joined by the DP-SGD of each text column (``texts``: column → its training summary,
    whose ``dp`` is set when it was trained with DP); the tables' own statement when none was."""
    trained = {f"texts {column}": summary["dp"] for column, summary in texts.items() if summary.get("dp")}
    return combine({"tables": tables, **trained}) if trained else tables


def combine(statements: dict[str, dict]) -> dict:
    """One statement for several DP models (the tables', the texts'): parts named ``model: part``, sums as totals."""
    parts = {}
    for owner, statement in statements.items():
        for name, part in statement.get("parts", {}).items():
            parts[f"{owner}: {name}"] = part
        if not statement.get("parts"):
            parts[owner] = {"epsilon": statement["epsilon"], "delta": statement["delta"], "unit": statement.get("unit", "one text")}
    return {"epsilon": sum(p["epsilon"] for p in parts.values()), "delta": sum(p["delta"] for p in parts.values()),
            "unit": PERSON, "parts": parts}
