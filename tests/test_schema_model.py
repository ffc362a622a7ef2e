"""The schema model: YAML/JSON files a person edits, validation, graph helpers, SDV conversion."""

import pytest

from synthbank.demo_bank import demo_schema
from synthbank.errors import SchemaError
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table, to_sdv_metadata


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_load_round_trip(tmp_path, suffix):
    schema = demo_schema()
    path = schema.save(tmp_path / f"schema{suffix}")
    loaded = DatabaseSchema.load(path)
    assert loaded.to_dict() == schema.to_dict()
    assert loaded.fingerprint() == schema.fingerprint()


def test_a_person_can_mark_columns_in_the_yaml(tmp_path):
    path = demo_schema().save(tmp_path / "schema.yaml")
    text = path.read_text()
    text = text.replace("purpose: {type: varchar(30), nullable: false, sdtype: categorical}",
                        "purpose: {type: varchar(30), nullable: false, sdtype: text}")
    text = text.replace("state: {type: varchar(2), nullable: false, sdtype: categorical}",
                        "state: {type: varchar(2), nullable: false, sdtype: pii, pii: address}", 1)
    text = text.replace("  transactions:\n", "  transactions:\n    mode: exclude\n")
    path.write_text(text)
    schema = DatabaseSchema.load(path)
    assert schema.tables["loans"].columns["purpose"].is_text
    assert schema.tables["users"].columns["state"].pii == "address"
    assert schema.tables["transactions"].mode == "exclude"
    assert schema.fingerprint() != demo_schema().fingerprint()


def test_bad_schema_files_are_clear_errors(tmp_path):
    with pytest.raises(SchemaError, match="does not exist"):
        DatabaseSchema.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables: [1, 2")
    with pytest.raises(SchemaError, match="not valid YAML"):
        DatabaseSchema.load(bad)
    bad.write_text("tables:\n  t:\n    columns:\n      a: {type: integer, sdtype: fancy}\n")
    with pytest.raises(SchemaError, match="sdtype 'fancy'"):
        DatabaseSchema.load(bad)
    bad.write_text("tables:\n  t:\n    columns:\n      a: {type: integer, sdtype: pii, pii: shoe_size}\n")
    with pytest.raises(SchemaError, match="kind 'shoe_size'"):
        DatabaseSchema.load(bad)
    bad.write_text("tables:\n  t:\n    mode: shred\n    columns:\n      a: {type: integer}\n")
    with pytest.raises(SchemaError, match="mode 'shred'"):
        DatabaseSchema.load(bad)
    bad.write_text("tables: {}\n")
    with pytest.raises(SchemaError, match="no tables"):
        DatabaseSchema.load(bad)


def _table(name, fks=(), pk=("id",)):
    columns = {"id": Column("id", "integer", sdtype="id"), "x": Column("x", "float", sdtype="numerical")}
    for fk in fks:
        for column in fk.columns:
            columns[column] = Column(column, "integer", sdtype="id")
    return Table(name, columns, list(pk), list(fks))


def test_graph_helpers_and_cycles():
    schema = demo_schema()
    order = schema.topological_order()
    assert order.index("users") < order.index("loans") < order.index("transactions")
    assert order.index("loans") < order.index("complaints")
    assert schema.parents("complaints") == ["loans", "users"]
    assert schema.children("users") == ["complaints", "loans"]
    assert set(schema.subset(["users", "complaints"]).tables["complaints"].foreign_keys[0].columns) == {"user_id"}
    with pytest.raises(SchemaError, match="no table 'cards'"):
        schema.table("cards")

    cyclic = DatabaseSchema({
        "a": _table("a", [ForeignKey(["b_id"], "b", ["id"])]),
        "b": _table("b", [ForeignKey(["a_id"], "a", ["id"])]),
    })
    with pytest.raises(SchemaError, match="cycle"):
        cyclic.topological_order()
    with pytest.raises(SchemaError, match="does not contain"):
        DatabaseSchema({"a": _table("a", [ForeignKey(["b_id"], "b", ["id"])])})


def test_sdv_metadata_for_any_subset_of_tables():
    schema = demo_schema()
    conversion = to_sdv_metadata(schema, ["users", "loans"])
    metadata = conversion.metadata.to_dict()
    assert set(metadata["tables"]) == {"users", "loans"}
    users = metadata["tables"]["users"]
    assert users["primary_key"] == "user_id"
    assert "email" not in users["columns"] and "ssn" not in users["columns"]  # PII never reaches SDV
    assert users["columns"]["annual_income"]["sdtype"] == "numerical"
    assert metadata["relationships"] == [{"parent_table_name": "users", "parent_primary_key": "user_id",
                                          "child_table_name": "loans", "child_foreign_key": "user_id"}]
    complaints = to_sdv_metadata(schema, ["complaints"]).metadata.to_dict()["tables"]["complaints"]
    assert "narrative" not in complaints["columns"]  # free text goes to the text engine
    conversion.metadata.validate()


def test_sdv_conversion_notes_what_sdv_cannot_express():
    accounts = Table("accounts", {"branch": Column("branch", "varchar(4)", sdtype="id"),
                                  "no": Column("no", "integer", sdtype="id")}, ["branch", "no"])
    employees = _table("employees", [ForeignKey(["manager_id"], "employees", ["id"])])
    transfers = _table("transfers")
    transfers.columns["b"] = Column("b", "varchar(4)", sdtype="id")
    transfers.columns["n"] = Column("n", "integer", sdtype="id")
    transfers.foreign_keys = [ForeignKey(["b", "n"], "accounts", ["branch", "no"])]
    conversion = to_sdv_metadata(DatabaseSchema({"accounts": accounts, "employees": employees, "transfers": transfers}))
    notes = " ".join(conversion.notes)
    assert "composite primary key" in notes and "self-reference" in notes and "composite key" in notes
    assert conversion.metadata.to_dict()["relationships"] == []
