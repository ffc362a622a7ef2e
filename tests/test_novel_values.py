"""Rare labels (job titles, airport names) come back as new labels of common words: never a real value, never
holding a run of words that is one, found by no leak scan, and not piled onto the common labels."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthbank import DatabaseSynthesizer
from synthbank.evaluation.leaks import scan
from synthbank.novel_values import make_pool
from synthbank.protection import RARE_MARKER, RareGuard
from synthbank.schemas import Column, DatabaseSchema, Table

HEADS = ["senior", "lead", "chief", "assistant", "junior", "regional", "head", "staff", "principal", "associate"]
ROLES = ["manager", "engineer", "nurse", "analyst", "driver", "teacher", "clerk", "officer", "technician", "director",
         "accountant", "designer", "consultant", "supervisor", "coordinator"]
FIELDS = ["sales", "software", "clinical", "warehouse", "credit", "marketing", "payroll", "network", "quality", "safety"]


def titles(n: int, seed: int = 0) -> pd.Series:
    """A few common titles many people hold and a long tail of compositions one or two people hold."""
    rng = np.random.default_rng(seed)
    common = ["manager", "teacher", "owner", "driver", "nurse"]
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            out.append(common[rng.integers(len(common))])
        else:
            words = [HEADS[rng.integers(len(HEADS))], FIELDS[rng.integers(len(FIELDS))], ROLES[rng.integers(len(ROLES))]]
            out.append(" ".join(words[rng.integers(0, 2):]))
    return pd.Series(out, dtype=object)


def _words(value) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", str(value).lower()))


def test_new_labels_are_never_a_real_value_nor_hold_one():
    values = titles(3000)
    guard = RareGuard.fit(values, 5)
    assert guard.replaced > 900 and guard.novel, "most compositions are rare, and new labels replace them"
    real = {_words(v) for v in values}
    runs = {w for w in real if len(w) >= 2}
    for label in guard.novel:
        key = _words(label)
        assert key not in real
        assert not any(key[i:j] in runs for i in range(len(key)) for j in range(i + 2, len(key) + 1)), label
        assert set(key) <= set(HEADS + ROLES + FIELDS + ["manager", "teacher", "owner", "driver", "nurse"])
    restored = guard.restore(guard.protect(values), np.random.default_rng(0))
    assert not (restored == RARE_MARKER).any()
    # the common labels keep their real share instead of taking the rare rows' (0.4 of the rows, not 1.0)
    assert abs(restored.isin(guard.kept).mean() - values.isin(guard.kept).mean()) < 0.02


def test_no_labels_for_codes_numbers_or_columns_with_few_rare_values():
    rng = np.random.default_rng(1)
    codes = pd.Series([f"X{rng.integers(10**6):06d}" for _ in range(2000)], dtype=object)
    assert make_pool(codes, np.ones(len(codes), bool), None, 5, 0) == []
    common = pd.Series(rng.choice(["red car", "blue car", "green van"], 2000), dtype=object)
    assert make_pool(common, np.zeros(len(common), bool), None, 5, 0) == []


def test_a_column_whose_every_value_is_rare_gets_new_labels_and_no_leak():
    rng = np.random.default_rng(2)
    places = ["Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton", "Salem", "Madison",
              "Georgetown", "Arlington", "Ashland", "Burlington", "Manchester", "Milton", "Newport", "Oxford"]
    kinds = ["Municipal", "Regional", "County", "International", "Memorial", "Field", "Airpark", "Executive"]
    names = [f"{p} {k} Airport" if rng.random() < 0.7 else f"{p} {k}"
             for p, k in zip(rng.choice(places, 600), rng.choice(kinds, 600))]
    names = [f"{n} {i}" if i % 3 == 0 else n for i, n in enumerate(names)]  # every full name unique
    names = [f"{n} Strip {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}" for i, n in enumerate(names)]
    c = Column
    schema = DatabaseSchema({"airports": Table("airports", {
        "faa": c("faa", "varchar(4)", False, "id"), "name": c("name", "varchar(80)", False, "categorical"),
        "alt": c("alt", "integer", False, "numerical")}, ["faa"])})
    tables = {"airports": pd.DataFrame({"faa": [f"A{i:03d}" for i in range(600)], "name": names,
                                        "alt": rng.integers(0, 3000, 600)})}
    out = DatabaseSynthesizer(schema, text=False).fit(tables).sample(seed=0)
    synthetic = out["airports"]["name"]
    assert not (synthetic == RARE_MARKER).any()
    assert synthetic.nunique() > 100
    assert not synthetic.isin(names).any()
    assert scan(schema, tables, out)["total"] == 0
