"""What a database looks like: tables, columns, keys — the object every other part of synthbank reads.

A :class:`DatabaseSchema` is built by reflecting a database (:func:`synthbank.schemas.reflect_schema`) or
loaded from a YAML/JSON file a person reviewed. Each column carries an ``sdtype`` saying how synthbank
treats it:

``id``           a key or an identifier; regenerated, never learned
``numerical``    learned by HMA
``categorical``  learned by HMA
``datetime``     learned by HMA
``boolean``      learned by HMA
``pii``          personal data (``pii`` names the kind); never learned, Faker fills it
``text``         free text (narratives, notes); never learned by HMA, written by the text engine
``unsupported``  a type synthbank cannot learn (json, binary…); written as NULL or left out
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from synthbank.errors import SchemaError
from synthbank.schemas import types
from synthbank.schemas.rules import Rule, check_rules, rules_from_list
from synthbank.vocabulary import FIXED_MODES, TABLE_MODELS, PiiKind, SdType, TableMode

SDTYPES = tuple(SdType)
#: How the relational engine treats a table (set per table in the schema file).
TABLE_MODES = tuple(TableMode)
#: The personal-data kinds synthbank recognises; each has a Faker provider in the relational engine.
PII_KINDS = tuple(PiiKind)
#: Value encodings a column may declare (``format:``): a date stored as ``yyyymmdd`` digits.
COLUMN_FORMATS = (None, "yyyymmdd", "yymmdd", "yyyymmdd hh:mm:ss", "yymmdd hh:mm:ss")


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    sdtype: str = SdType.CATEGORICAL.value
    pii: str | None = None
    unique: bool = False
    identity: bool = False  # an auto-increment / serial / identity column
    #: How a value is encoded in its SQL type: ``yyyymmdd`` or ``yymmdd`` for a date stored as an integer or
    #: digits (strings may add `` hh:mm:ss``).
    format: str | None = None
    #: Why detection judged the column personal (``named 'iban'``, ``95% of values are valid IBANs``), for
    #: the reviewer; descriptive only.
    reason: str | None = None

    def __post_init__(self):
        if self.format not in COLUMN_FORMATS:
            raise SchemaError(f"Column '{self.name}' has format '{self.format}'; use one of "
                              f"{', '.join(f for f in COLUMN_FORMATS if f)} or leave it out.")
        if self.sdtype not in SDTYPES:
            raise SchemaError(f"Column '{self.name}' has sdtype '{self.sdtype}'; use one of {', '.join(SDTYPES)}.")
        if self.sdtype == "pii" and self.pii not in PII_KINDS:
            raise SchemaError(
                f"Column '{self.name}' is marked pii with kind '{self.pii}'; use one of {', '.join(PII_KINDS)}."
            )
        types.base_name(self.type)  # validates the type string

    @property
    def is_pii(self) -> bool:
        return self.sdtype == SdType.PII

    @property
    def is_text(self) -> bool:
        return self.sdtype == SdType.TEXT


@dataclass
class ForeignKey:
    columns: list[str]
    parent: str
    parent_columns: list[str]
    name: str | None = None

    @property
    def is_composite(self) -> bool:
        return len(self.columns) > 1


@dataclass
class Table:
    name: str
    columns: dict[str, Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    mode: str = TableMode.SYNTHESIZE.value
    row_count: int | None = None
    subset_fraction: float = 0.1  # share of the real rows a ``subset`` table keeps (times the scale)
    table_model: str | None = None  # this table's model (``vocabulary.TABLE_MODELS``); None: the settings'

    def __post_init__(self):
        if not 0 < self.subset_fraction <= 1:
            raise SchemaError(f"Table '{self.name}' has subset_fraction {self.subset_fraction}; use a share in (0, 1].")
        if self.mode not in TABLE_MODES:
            raise SchemaError(f"Table '{self.name}' has mode '{self.mode}'; use one of {', '.join(TABLE_MODES)}.")
        if self.table_model is not None and self.table_model not in TABLE_MODELS:
            raise SchemaError(f"Table '{self.name}' has table_model '{self.table_model}'; use one of {', '.join(TABLE_MODELS)}.")
        named = [*self.primary_key, *(c for fk in self.foreign_keys for c in fk.columns), *(c for u in self.unique for c in u)]
        for column in named:
            if column not in self.columns:
                raise SchemaError(f"Table '{self.name}' names a key column '{column}' that it does not have.")

    @property
    def is_excluded(self) -> bool:
        """Left out of the target."""
        return self.mode == TableMode.EXCLUDE

    @property
    def is_fixed(self) -> bool:
        """Written as real rows (``copy`` or ``subset``), learned by no model."""
        return self.mode in FIXED_MODES

    @property
    def is_synthesized(self) -> bool:
        return self.mode == TableMode.SYNTHESIZE

    def column(self, name: str) -> Column:
        try:
            return self.columns[name]
        except KeyError:
            raise SchemaError(f"Table '{self.name}' has no column '{name}'.") from None

    def columns_of(self, sdtype: str) -> list[str]:
        return [name for name, column in self.columns.items() if column.sdtype == sdtype]

    @property
    def self_references(self) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.parent == self.name]


@dataclass
class DatabaseSchema:
    tables: dict[str, Table]
    #: A categorical value held by fewer than this many entities never reaches a model (see
    #: :mod:`synthbank.protection`); written as ``rare_threshold:`` at the top of a schema file.
    rare_threshold: int = 5
    #: The Faker locale fake names, streets and cities are drawn from (``locale:`` in a schema file),
    #: detected from the people's names in the data; None: en_US.
    locale: str | None = None
    #: Rules every real row obeys (:mod:`synthbank.schemas.rules`), kept by every synthetic row; None: not
    #: discovered yet (fitting discovers them), ``[]``: none.
    rules: list[Rule] | None = None
    #: Foreign keys key discovery could not settle (a column that could reference two tables), one sentence
    #: each; found on a folder of files, never saved, refused by :func:`~synthbank.schemas.resolve_schema`
    #: unless a schema file lists the table.
    key_doubts: list[tuple[str, str]] = field(default_factory=list, compare=False, repr=False)
    #: Foreign keys that hold for most rows of a folder's files but not all, left out, one sentence each (never saved).
    key_notes: list[str] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self):
        if not self.tables:
            raise SchemaError("The schema has no tables.")
        if isinstance(self.rare_threshold, bool) or not isinstance(self.rare_threshold, int) or self.rare_threshold < 1:
            raise SchemaError(f"The schema's rare_threshold is {self.rare_threshold!r}; use a whole number of at least 1 (default 5).")
        if self.locale is not None:
            from faker.config import AVAILABLE_LOCALES

            if self.locale not in AVAILABLE_LOCALES:
                raise SchemaError(f"The schema's locale is {self.locale!r}, which Faker does not know; use one such as "
                                  "en_US, de_DE or cs_CZ.")
        for table in self.tables.values():
            for fk in table.foreign_keys:
                parent = self.tables.get(fk.parent)
                if parent is None:
                    raise SchemaError(f"Table '{table.name}' has a foreign key to '{fk.parent}', which the schema does not contain.")
                for column in fk.parent_columns:
                    parent.column(column)
        if self.rules is not None:
            check_rules(self.rules, self.tables)

    # --- navigation -------------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            known = ", ".join(sorted(self.tables))
            raise SchemaError(f"There is no table '{name}' in the schema (tables: {known}).") from None

    def written_tables(self) -> list[str]:
        """The tables a synthetic database has (every table not excluded), in the schema's order."""
        return [name for name, table in self.tables.items() if not table.is_excluded]

    def relationships(self) -> list[tuple[str, ForeignKey]]:
        """Every foreign key as ``(child_table, fk)``."""
        return [(table.name, fk) for table in self.tables.values() for fk in table.foreign_keys]

    def parents(self, name: str) -> list[str]:
        return sorted({fk.parent for fk in self.table(name).foreign_keys if fk.parent != name})

    def children(self, name: str) -> list[str]:
        return sorted({child for child, fk in self.relationships() if fk.parent == name and child != name})

    def subset(self, names: list[str]) -> DatabaseSchema:
        """The schema of some tables; foreign keys to tables left out are dropped."""
        for name in names:
            self.table(name)
        kept = {}
        for name in names:
            table = self.tables[name]
            fks = [fk for fk in table.foreign_keys if fk.parent in names]
            kept[name] = Table(table.name, dict(table.columns), list(table.primary_key), fks,
                               [list(u) for u in table.unique], table.mode, table.row_count, table.subset_fraction,
                               table.table_model)
        rules = None if self.rules is None else [r for r in self.rules if _rule_within(r, kept)]
        return DatabaseSchema(kept, rare_threshold=self.rare_threshold, locale=self.locale, rules=rules)

    def topological_order(self) -> list[str]:
        """Tables with parents before children, ignoring self-references. Raises on any cycle."""
        return self._order(ignore=set())

    def deferred_edges(self) -> set[tuple[str, int]]:
        """Foreign keys that must be filled after their rows exist, as ``(table, index in foreign_keys)``.

        Every self-reference, plus one nullable foreign key per cycle between tables (inserted as NULL,
        updated once the parents exist). A cycle with no nullable foreign key cannot be written: that
        raises a :class:`SchemaError` naming the cycle.
        """
        deferred = {(t.name, i) for t in self.tables.values() for i, fk in enumerate(t.foreign_keys) if fk.parent == t.name}
        while True:
            cycle = self._find_cycle(deferred)
            if cycle is None:
                return deferred
            edges = [(child, i) for child, parent in zip(cycle, cycle[1:])
                     for i, fk in enumerate(self.tables[child].foreign_keys)
                     if fk.parent == parent and (child, i) not in deferred]
            nullable = [(child, i) for child, i in edges
                        if all(self.tables[child].columns[c].nullable for c in self.tables[child].foreign_keys[i].columns)]
            if not nullable:
                raise SchemaError(f"The foreign keys form a cycle with no nullable column to break it: {' → '.join(cycle)}.")
            deferred.add(nullable[0])

    def read_order(self) -> list[str]:
        """Tables with parents before children, ignoring the deferred edges (so cycles are allowed)."""
        return self._order(ignore=self.deferred_edges())

    def _edges(self, ignore: set[tuple[str, int]]):
        for table in self.tables.values():
            for i, fk in enumerate(table.foreign_keys):
                if fk.parent != table.name and (table.name, i) not in ignore:
                    yield table.name, fk.parent

    def _find_cycle(self, ignore) -> list[str] | None:
        parents: dict[str, list[str]] = {name: [] for name in self.tables}
        for child, parent in self._edges(ignore):
            parents[child].append(parent)
        state: dict[str, str] = {}

        def visit(name, path):
            state[name] = "visiting"
            for parent in sorted(parents[name]):
                if state.get(parent) == "visiting":
                    return [*path[path.index(parent):], parent] if parent in path else [name, parent]
                if parent not in state:
                    found = visit(parent, [*path, parent])
                    if found:
                        return found
            state[name] = "done"
            return None

        for name in sorted(self.tables):
            if name not in state:
                found = visit(name, [name])
                if found:
                    return found
        return None

    def _order(self, ignore) -> list[str]:
        cycle = self._find_cycle(ignore)
        if cycle is not None:
            raise SchemaError(f"The foreign keys form a cycle: {' → '.join(cycle)}.")
        parents: dict[str, set[str]] = {name: set() for name in self.tables}
        for child, parent in self._edges(ignore):
            parents[child].add(parent)
        order: list[str] = []
        while len(order) < len(self.tables):
            ready = sorted(n for n in self.tables if n not in order and parents[n] <= set(order))
            order.extend(ready)
        return order

    # --- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        tables = {}
        for table in self.tables.values():
            entry = {"mode": str(table.mode)} if not table.is_synthesized else {}
            if table.mode == TableMode.SUBSET:
                entry["subset_fraction"] = table.subset_fraction
            if table.table_model is not None:
                entry["table_model"] = table.table_model
            if table.primary_key:
                entry["primary_key"] = list(table.primary_key)
            columns = {}
            for column in table.columns.values():
                spec = {k: v for k, v in asdict(column).items() if k != "name"}
                spec = {k: v for k, v in spec.items() if not (k in ("pii", "format", "reason") and v is None)
                        and not (k in ("unique", "identity") and not v) and not (k == "nullable" and v)}
                columns[column.name] = spec
            entry["columns"] = columns
            if table.foreign_keys:
                entry["foreign_keys"] = [
                    {k: v for k, v in asdict(fk).items() if v is not None} for fk in table.foreign_keys
                ]
            if table.unique:
                entry["unique"] = [list(u) for u in table.unique]
            if table.row_count is not None:
                entry["row_count"] = table.row_count
            tables[table.name] = entry
        head = {"rare_threshold": self.rare_threshold, **({"locale": self.locale} if self.locale else {})}
        tail = {"rules": [rule.to_dict() for rule in self.rules]} if self.rules is not None else {}
        return {**head, "tables": tables, **tail}

    @classmethod
    def from_dict(cls, data: dict) -> DatabaseSchema:
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            raise SchemaError("A schema must be a mapping with a 'tables' mapping at the top.")
        tables = {}
        for name, spec in data["tables"].items():
            where = f"The schema file's table '{name}'"
            if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict) or not spec["columns"]:
                raise SchemaError(f"{where} must be a mapping with a 'columns' mapping.")
            columns = {}
            for col, col_spec in spec["columns"].items():
                col_spec = {} if col_spec is None else col_spec
                if not isinstance(col_spec, dict):
                    raise SchemaError(f"{where} column '{col}' must be a mapping (type:, sdtype:, …), "
                                      f"not a {type(col_spec).__name__}.")
                unknown = sorted(set(col_spec) - {f.name for f in fields(Column)} | {"name"} & set(col_spec))
                if unknown:
                    raise SchemaError(f"{where} column '{col}' has unknown field(s) {', '.join(map(str, unknown))}.")
                if "type" not in col_spec:
                    raise SchemaError(f"{where} column '{col}' has no 'type'.")
                for flag in ("nullable", "unique", "identity"):
                    if flag in col_spec and not isinstance(col_spec[flag], bool):
                        raise SchemaError(f"{where} column '{col}' has {flag}: {col_spec[flag]!r}; use true or false.")
                for text in ("type", "sdtype", "pii", "format", "reason"):
                    if col_spec.get(text) is not None and not isinstance(col_spec[text], str):
                        raise SchemaError(f"{where} column '{col}' has {text}: {col_spec[text]!r}; use a word.")
                columns[str(col)] = Column(name=str(col), **col_spec)
            fraction = spec.get("subset_fraction", 0.1)
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
                raise SchemaError(f"{where} has subset_fraction: {fraction!r}; use a number in (0, 1], e.g. 0.5.")
            row_count = spec.get("row_count")
            if row_count is not None and (isinstance(row_count, bool) or not isinstance(row_count, int) or row_count < 0):
                raise SchemaError(f"{where} has row_count: {row_count!r}; use a whole number.")
            mode = spec.get("mode", TableMode.SYNTHESIZE.value)
            if not isinstance(mode, str):
                raise SchemaError(f"{where} has mode: {mode!r}; use one of {', '.join(TABLE_MODES)}.")
            fks = []
            for fk in spec.get("foreign_keys") or []:
                if not isinstance(fk, dict) or not {"columns", "parent", "parent_columns"} <= set(fk) or set(fk) - {
                        "columns", "parent", "parent_columns", "name"}:
                    raise SchemaError(f"{where} has a foreign key that is not a mapping of columns, parent, parent_columns (and name).")
                fks.append(ForeignKey(columns=_names(fk["columns"], where, "foreign key columns"), parent=str(fk["parent"]),
                                      parent_columns=_names(fk["parent_columns"], where, "foreign key parent_columns"),
                                      name=fk.get("name")))
            unique = spec.get("unique") or []
            if not isinstance(unique, list):
                raise SchemaError(f"{where} has unique: {unique!r}; use a list of column lists.")
            tables[str(name)] = Table(
                name=str(name), columns=columns, primary_key=_names(spec.get("primary_key") or [], where, "primary_key"),
                foreign_keys=fks, unique=[_names(u, where, "unique") for u in unique],
                mode=mode, row_count=row_count, subset_fraction=float(fraction),
                table_model=None if spec.get("table_model") is None else str(spec.get("table_model")),
            )
        unknown = sorted(set(data) - {"tables", "rare_threshold", "locale", "rules"})
        if unknown:
            raise SchemaError(f"The schema file has unknown top-level key(s) {', '.join(map(str, unknown))} "
                              "(known: rare_threshold, locale, tables, rules).")
        locale = data.get("locale")
        if locale is not None and not isinstance(locale, str):
            raise SchemaError(f"The schema file has locale: {locale!r}; use a Faker locale such as de_DE.")
        return cls(tables, rare_threshold=data.get("rare_threshold", 5), locale=locale, rules=rules_from_list(data.get("rules")))

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        path = Path(path)
        data = self.to_dict()
        if path.suffix.lower() in {".yaml", ".yml"}:
            text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
        else:
            text = json.dumps(data, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> DatabaseSchema:
        path = Path(path)
        if not path.is_file():
            raise SchemaError(f"The schema file '{path}' does not exist.")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise SchemaError(f"The schema file '{path}' is not valid YAML or JSON ({exc.__class__.__name__}).") from None
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """A short hash of the schema, stored in model directories to check they match on load."""
        data = self.to_dict()
        for table in data["tables"].values():
            table.pop("row_count", None)  # the data may grow; the structure is what must match
            for column in table["columns"].values():
                column.pop("reason", None)  # a note for the reviewer
        for rule in data.get("rules", []):
            rule.pop("support", None)
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rule_within(rule: Rule, tables: dict[str, Table]) -> bool:
    """Whether a rule's tables and foreign keys are all among ``tables`` (for :meth:`DatabaseSchema.subset`)."""
    if rule.table not in tables:
        return False
    try:
        rule.check(tables)
    except SchemaError:
        return False
    return True


def _names(value, where: str, what: str) -> list[str]:
    """A column list from a schema file: a list of names, or one name."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{where} has {what}: {value!r}; use a list of column names.")
    return list(value)
