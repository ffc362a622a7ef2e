"""Rules every real row obeys, as a schema file holds them (``rules:``), for a person to review.

A rule names its kind (:class:`~synthbank.vocabulary.RuleKind`), its table and columns, and how many real
rows it was found on (``support``). The kinds, with the fields each uses::

    - {kind: decides, table: loans, columns: [status, is_default]}         # status decides is_default
    - {kind: order, table: loans, columns: [paid_principal, paid_total]}   # paid_principal <= paid_total
    - {kind: after_parent, table: transactions, columns: [date],           # a transaction's date is never
       parent: loans, parent_column: issue_date, path: [loan_id]}          #   before its loan's issue date
    - {kind: null_together, table: loans, columns: [income_joint, dti_joint]}
    - {kind: precision, table: loans, columns: [installment], decimals: 2} # money: two decimals,
    - {kind: precision, table: loans, columns: [loan_amount], decimals: 0, steps: [1000, 25]}  # heaping
    - {kind: sum, table: loans, columns: [paid_total, paid_principal, paid_interest]}  # total = the others

``path`` lists, from the rule's table up, the foreign key followed at each hop (its columns, joined by
commas when it has several): ``[account_id]`` is one hop, ``[account_id, client_id]`` two. A rule may be
deleted from the file (it is then not kept) or added by hand; :meth:`Rule.check` refuses, in one sentence,
a rule whose table, columns, path or kind does not fit the schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from synthbank.errors import SchemaError
from synthbank.vocabulary import RuleKind, SdType

RULE_KINDS = tuple(RuleKind)
#: The sdtypes each kind's columns may have (an ``after_parent`` rule: also its parent column).
_SDTYPES = {
    RuleKind.DECIDES: {SdType.CATEGORICAL, SdType.BOOLEAN},
    RuleKind.ORDER: {SdType.NUMERICAL, SdType.DATETIME},
    RuleKind.AFTER_PARENT: {SdType.NUMERICAL, SdType.DATETIME},
    RuleKind.NULL_TOGETHER: {SdType.NUMERICAL, SdType.DATETIME, SdType.CATEGORICAL, SdType.BOOLEAN},
    RuleKind.PRECISION: {SdType.NUMERICAL},
    RuleKind.SUM: {SdType.NUMERICAL},
}
#: How many columns each kind takes (lowest, highest).
_ARITY = {RuleKind.DECIDES: (2, 2), RuleKind.ORDER: (2, 2), RuleKind.AFTER_PARENT: (1, 1),
          RuleKind.NULL_TOGETHER: (2, 10_000), RuleKind.PRECISION: (1, 1), RuleKind.SUM: (3, 6)}


@dataclass
class Rule:
    kind: str
    table: str
    columns: list[str]
    #: real rows the rule was found to hold on (descriptive; None for a rule written by hand)
    support: int | None = None
    #: ``after_parent``: the table, column and foreign-key path of the lower bound
    parent: str | None = None
    parent_column: str | None = None
    path: list[str] | None = None
    #: ``precision``: decimal places every value has, and the round steps values heap on (1000, 25)
    decimals: int | None = None
    steps: list[float] | None = None

    def __str__(self) -> str:
        c = self.columns
        if self.kind == RuleKind.DECIDES:
            return f"{self.table}.{c[0]} decides {c[1]}"
        if self.kind == RuleKind.ORDER:
            return f"{self.table}: {c[0]} <= {c[1]}"
        if self.kind == RuleKind.AFTER_PARENT:
            return f"{self.table}.{c[0]} >= {self.parent}.{self.parent_column} (via {' -> '.join(self.path or [])})"
        if self.kind == RuleKind.NULL_TOGETHER:
            return f"{self.table}: {', '.join(c)} NULL together"
        if self.kind == RuleKind.PRECISION:
            steps = f", heaps on {', '.join(_number(s) for s in self.steps)}" if self.steps else ""
            return f"{self.table}.{c[0]}: {self.decimals} decimals{steps}"
        return f"{self.table}: {c[0]} = {' + '.join(c[1:])}"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data) -> Rule:
        if not isinstance(data, dict):
            raise SchemaError(f"A rule in the schema file must be a mapping (kind:, table:, columns:), not {data!r}.")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise SchemaError(f"A rule in the schema file has unknown field(s) {', '.join(map(str, unknown))}.")
        missing = [k for k in ("kind", "table", "columns") if k not in data]
        if missing:
            raise SchemaError(f"A rule in the schema file lacks {', '.join(missing)}.")
        columns = data["columns"]
        if isinstance(columns, str):
            columns = [columns]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise SchemaError(f"A rule of table '{data['table']}' has columns: {columns!r}; use a list of column names.")
        path = data.get("path")
        if isinstance(path, str):
            path = [path]
        if path is not None and (not isinstance(path, list) or not all(isinstance(p, str) for p in path)):
            raise SchemaError(f"A rule of table '{data['table']}' has path: {path!r}; use a list of foreign key columns.")
        steps = data.get("steps")
        if steps is not None and (not isinstance(steps, list) or not all(_positive(s) for s in steps)):
            raise SchemaError(f"A rule of table '{data['table']}' has steps: {steps!r}; use a list of positive numbers.")
        decimals = data.get("decimals")
        if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 10):
            raise SchemaError(f"A rule of table '{data['table']}' has decimals: {decimals!r}; use a whole number from 0 to 10.")
        return cls(**{**data, "columns": list(columns), "path": path, "steps": steps})

    def check(self, tables: dict) -> None:
        """Refuse (one sentence) a rule that does not fit ``tables`` (name → :class:`~synthbank.schemas.model.Table`)."""
        where = f"The rule '{self.kind}' of table '{self.table}'"
        if self.kind not in RULE_KINDS:
            raise SchemaError(f"A rule of table '{self.table}' has kind '{self.kind}'; use one of {', '.join(RULE_KINDS)}.")
        table = tables.get(self.table)
        if table is None:
            raise SchemaError(f"{where} names a table the schema does not have.")
        low, high = _ARITY[RuleKind(self.kind)]
        if not low <= len(self.columns) <= high or len(set(self.columns)) != len(self.columns):
            raise SchemaError(f"{where} needs {low}{'' if low == high else ' or more'} different columns, got {self.columns}.")
        allowed = _SDTYPES[RuleKind(self.kind)]
        for column in self.columns:
            _check_column(table, column, allowed, where)
        if self.kind == RuleKind.PRECISION and self.decimals is None:
            raise SchemaError(f"{where} needs decimals: (the decimal places of {self.columns[0]}).")
        if self.kind == RuleKind.AFTER_PARENT:
            self._check_path(tables, where, allowed)
        elif self.parent or self.parent_column or self.path:
            raise SchemaError(f"{where} has parent/path fields, which only after_parent rules take.")

    def _check_path(self, tables: dict, where: str, allowed) -> None:
        if not self.path or not self.parent or not self.parent_column:
            raise SchemaError(f"{where} needs parent:, parent_column: and path: (the foreign key columns to follow).")
        if len(self.path) > 2:
            raise SchemaError(f"{where} has a path of {len(self.path)} hops; at most 2 are kept.")
        name = self.table
        for hop in self.path:
            fk = next((fk for fk in tables[name].foreign_keys if ",".join(fk.columns) == hop.replace(" ", "")), None)
            if fk is None:
                raise SchemaError(f"{where} follows '{hop}', which is not a foreign key of table '{name}'.")
            name = fk.parent
        if name != self.parent:
            raise SchemaError(f"{where} has a path that leads to '{name}', not to '{self.parent}'.")
        _check_column(tables[name], self.parent_column, allowed, where)
        if tables[name].columns[self.parent_column].sdtype != tables[self.table].columns[self.columns[0]].sdtype:
            raise SchemaError(f"{where} compares a {tables[self.table].columns[self.columns[0]].sdtype} with a "
                              f"{tables[name].columns[self.parent_column].sdtype}.")

    def hops(self, tables: dict) -> list:
        """The foreign keys of ``path``, from the rule's table up."""
        out, name = [], self.table
        for hop in self.path or []:
            fk = next(fk for fk in tables[name].foreign_keys if ",".join(fk.columns) == hop.replace(" ", ""))
            out.append(fk)
            name = fk.parent
        return out


def check_rules(rules: list[Rule], tables: dict) -> None:
    """Check every rule against the tables; an order rule and its reverse make a loop and are refused."""
    for rule in rules:
        rule.check(tables)
    pairs = {(r.table, tuple(r.columns)) for r in rules if r.kind == RuleKind.ORDER}
    for table, (a, b) in pairs:
        if (table, (b, a)) in pairs:
            raise SchemaError(f"The rules say both {table}.{a} <= {b} and {b} <= {a}; keep one of them.")


def rules_from_list(data) -> list[Rule] | None:
    if data is None:
        return None
    if not isinstance(data, list):
        raise SchemaError(f"The schema file has rules: {type(data).__name__}; use a list of rules (or [] for none).")
    return [Rule.from_dict(item) for item in data]


def _check_column(table, column: str, allowed, where: str) -> None:
    spec = table.columns.get(column)
    if spec is None:
        raise SchemaError(f"{where} names column '{column}', which table '{table.name}' does not have.")
    if spec.sdtype not in allowed:
        raise SchemaError(f"{where} names {table.name}.{column}, a {spec.sdtype} column; this kind takes "
                          f"{' or '.join(sorted(allowed))} columns.")


def _positive(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def _number(value: float) -> str:
    return f"{value:g}"
