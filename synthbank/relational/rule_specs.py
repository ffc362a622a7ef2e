"""The compiled state of the schema's rules per table (:class:`TableRules`), kept by
:class:`~synthbank.relational.rule_keeping.RuleKeeper`: for each column its bounds (:class:`Bound`), whether
it is modelled as a share, the fallback bounds of rows without one, the parts of a total, its decimals and
round steps; per table the order columns are computed in, the NULL-together groups and the decided
categories. Plain dataclasses of aggregates only, saved as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthbank.relational.decided import Decided


@dataclass
class Bound:
    """A bound of a column: another column of the row, or the ``column`` of the row ``hops`` foreign keys up."""

    column: str
    hops: list[int] = field(default_factory=list)  # foreign key indexes, from the table up
    via: list[str] = field(default_factory=list)  # the table each hop reaches (the last holds ``column``)
    #: a bound the marginals keep anyway (independent values would cross it in < 1% of pairs: a birth date
    #: before an update in 2023): the column keeps its own values and only the few that cross are moved to it
    clip: bool = False


@dataclass
class ColumnRules:
    lower: list[Bound] = field(default_factory=list)
    upper: list[Bound] = field(default_factory=list)
    share: bool = False  # modelled as a share of its upper bound (a non-negative number)
    fallback_lower: float | None = None  # the median bounds, for rows without one
    fallback_upper: float | None = None
    parts: list[str] = field(default_factory=list)  # a total: the sum of these
    floor: float | None = None  # a part of a sum: never below this (0)
    decimals: int | None = None
    steps: list[float] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)  # quarters of the values, for the step shares
    step_shares: list[list[float]] = field(default_factory=list)  # per quarter: [no step, *steps] shares


@dataclass
class TableRules:
    columns: dict[str, ColumnRules] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # the columns in the order they are computed
    nulls: list[list[str]] = field(default_factory=list)
    decided: list[Decided] = field(default_factory=list)
