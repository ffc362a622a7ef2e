"""Conversion of a :class:`DatabaseSchema` (or some of its tables) to ``sdv.metadata.Metadata``.

Only what HMA may learn goes in: PII, free-text and unsupported columns are left out (Faker, the text
engine and the writer take care of them). SDV's community edition cannot express composite keys or
self-references, so those are left out too and handled around HMA by the relational engine;
:func:`to_sdv_metadata` reports each such omission in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import SDV_SDTYPES

if TYPE_CHECKING:  # SDV takes seconds to import: only when a conversion is asked for
    import sdv.metadata



@dataclass
class SdvConversion:
    metadata: sdv.metadata.Metadata
    notes: list[str] = field(default_factory=list)


def to_sdv_metadata(schema: DatabaseSchema, tables: list[str] | None = None) -> SdvConversion:
    from sdv.metadata import Metadata  # SDV takes seconds to import: only when needed

    names = list(tables) if tables is not None else list(schema.tables)
    notes: list[str] = []
    spec: dict = {"METADATA_SPEC_VERSION": "V1", "tables": {}, "relationships": []}
    for name in names:
        table = schema.table(name)
        columns = {}
        for column in table.columns.values():
            if column.sdtype in SDV_SDTYPES:
                columns[column.name] = {"sdtype": column.sdtype}
        entry: dict = {"columns": columns}
        if len(table.primary_key) == 1 and table.primary_key[0] in columns:
            entry["primary_key"] = table.primary_key[0]
        elif len(table.primary_key) > 1:
            notes.append(f"{name}: composite primary key ({', '.join(table.primary_key)}) is not given to SDV.")
        spec["tables"][name] = entry

    for name in names:
        table = schema.table(name)
        for fk in table.foreign_keys:
            label = f"{name}({', '.join(fk.columns)}) → {fk.parent}"
            if fk.parent not in spec["tables"]:
                continue
            if fk.parent == name:
                notes.append(f"{label}: self-reference is not given to SDV.")
                continue
            parent_key = spec["tables"][fk.parent].get("primary_key")
            if fk.is_composite or parent_key != fk.parent_columns[0]:
                notes.append(f"{label}: composite key or a key other than the parent's primary key is not given to SDV.")
                continue
            spec["relationships"].append({
                "parent_table_name": fk.parent, "parent_primary_key": parent_key,
                "child_table_name": name, "child_foreign_key": fk.columns[0],
            })
    return SdvConversion(Metadata.load_from_dict(spec), notes)
