"""Evaluation: both directions (an exact copy scores perfect fidelity and is flagged by privacy; a broken
fake scores clearly worse and its orphans are reported), the report files, the CLI and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from synthbank.demo_bank import demo_schema, generate_demo_bank, write_demo_bank
from synthbank.errors import SynthbankError
from synthbank.evaluation import evaluate

TOP_LEVEL_KEYS = {"schema_version", "summary", "tables", "holdout", "integrity", "rules", "quality", "conditions", "k_hop", "detection",
                  "detection_per_table",
                  "notes", "text", "privacy", "utility", "seconds"}


@pytest.fixture(scope="module")
def real():
    return generate_demo_bank(users=150, seed=21)


#: how the synthetic texts' model was trained, as DatabaseSynthesizer.describe() gives it
TRAINING = {"complaints.narrative": {"texts": 60, "steps": 12, "stopped": "budget",
                                     "dp": {"epsilon": 3.25, "delta": 1e-5, "target_epsilon": 4.0}}}


@pytest.fixture(scope="module")
def copy_report(real):
    return evaluate(real, {n: t.copy() for n, t in real.items()}, demo_schema(), text_models=TRAINING)


def _broken_fake(real: dict, seed: int = 0) -> dict:
    """Every column shuffled on its own (correlations gone) and a fifth of the loans' user ids pointing nowhere."""
    rng = np.random.default_rng(seed)
    fake = {}
    for name, frame in real.items():
        frame = frame.copy()
        for column in frame.columns:
            frame[column] = frame[column].to_numpy()[rng.permutation(len(frame))]
        fake[name] = frame
    loans = fake["loans"]
    broken = rng.random(len(loans)) < 0.2
    loans.loc[broken, "user_id"] = loans["user_id"].max() + 10_000 + np.arange(broken.sum())
    return fake


@pytest.fixture(scope="module")
def fake_report(real):
    return evaluate(real, _broken_fake(real), demo_schema())


def test_exact_copy_has_perfect_fidelity_and_is_flagged(copy_report):
    s = copy_report.summary
    assert s["integrity_ok"] and s["orphan_foreign_keys"] == 0
    assert s["quality_score"] > 0.99 and s["k_hop_avg_2way"] > 0.99 and s["diagnostic_score"] > 0.99
    assert s["quality_real_reference"] < s["quality_score"]
    text = s["text"]["complaints.narrative"]
    assert text["mauve"] > 0.99
    assert text["length_ks"] == 0 and text["ended_share"] == text["ended_share_real"] > 0.9
    assert text["dp_epsilon"] == 3.25 and text["dp_delta"] == 1e-5
    assert copy_report.data["text"]["complaints.narrative"]["training"] == TRAINING["complaints.narrative"]
    privacy = copy_report.data["privacy"]
    assert s["exact_copy_share"] == 1.0 and s["exact_copy_real_reference"] < 0.1  # far above what halves share
    assert all(t["median_dcr"] == 0 and t["zero_dcr_share"] == 1.0 for t in privacy["tables"].values())
    assert s["pii_leaks"] > 0 and privacy["pii_leaks"]["cells"] > 0 and privacy["pii_leaks"]["texts"] > 0
    assert privacy["text_copying"]["complaints.narrative"]["synthetic_share"] == 1.0
    for ratio in s["utility"].values():
        assert ratio > 0.95  # the copy also holds the test rows, so it may beat real training data


def test_a_copy_in_the_engines_dtypes_is_still_a_copy(tmp_path):
    """Read from SQLite a flag is 0/1 and an integer with NULLs 5.0; sampled in memory the same values are
    False/True and 5. Compared as given, an exact copy went uncounted (0% copies of the accounts) and a
    classifier told real from synthetic by the spelling alone. The evaluation compares both in one form."""
    from sample_databases import payments_bank

    from synthbank.io.reader import read_tables
    from synthbank.relational.frames import normalize
    from synthbank.schemas.reflect import reflect_schema

    url = f"sqlite:///{tmp_path / 'payments.db'}"
    payments_bank(url, seed=3)
    schema = reflect_schema(url)
    real = read_tables(url, schema)
    copy = {name: normalize(frame, schema.tables[name]) for name, frame in real.items()}
    assert real["accounts"]["is_flagged"].astype(str).isin({"0", "1"}).all()
    assert copy["accounts"]["is_flagged"].astype(str).isin({"False", "True"}).all()
    report = evaluate(real, copy, schema)
    assert report.summary["exact_copy_share"] == 1.0
    assert all(t["exact_copy_share"] == 1.0 for t in report.data["privacy"]["tables"].values())
    assert report.summary["quality_score"] > 0.99 and report.summary["detection_accuracy"] < 0.6


def test_broken_fake_scores_worse_and_reports_orphans(copy_report, fake_report):
    s, good = fake_report.summary, copy_report.summary
    assert not s["integrity_ok"]
    loans = next(r for r in fake_report.data["integrity"]["relationships"] if r["child"] == "loans" and r["parent"] == "users")
    assert loans["orphans"] > 0 and 0.1 < loans["orphan_share"] < 0.3
    assert s["quality_score"] < good["quality_score"] - 0.1
    assert s["k_hop_avg_2way"] < good["k_hop_avg_2way"] - 0.1
    pair_trends = fake_report.data["quality"]["quality"]["properties"]["Column Pair Trends"]
    assert pair_trends < copy_report.data["quality"]["quality"]["properties"]["Column Pair Trends"] - 0.1
    assert s["utility"]["loans.is_default"] < 0.8  # shuffled labels teach nothing (fraud: too few cases at this size)
    # per table, on its own columns: shuffled loans (status apart from is_default) are told apart, copies are not
    assert set(s["detection_per_table"]) == {"users", "loans", "transactions", "complaints"}
    assert max(good["detection_per_table"].values()) < 0.6 < min(s["detection_per_table"]["loans"],
                                                                 s["detection_per_table"]["transactions"])


def test_texts_cut_short_show_in_length_ks_and_ended_share(real):
    from synthbank.evaluation.text_metrics import compare_texts

    complaints = real["complaints"]
    cut = complaints.assign(narrative=complaints.narrative.map(lambda t: " ".join(t.split()[:12]) if isinstance(t, str) else t))
    result = compare_texts(complaints, cut, "narrative")
    assert result["scores"]["length_ks"]["synthetic"] > 0.9 > result["scores"]["length_ks"]["real_reference"]
    assert result["synthetic"]["ended_share"] < 0.5 < 0.9 < result["real"]["ended_share"]  # a cut can fall on a full stop


def test_report_files(copy_report, tmp_path):
    copy_report.save(tmp_path / "report")
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(data) == TOP_LEVEL_KEYS and data["schema_version"] == 1
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("<img src=\"data:image/png;base64,") >= 5
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained
    assert "DP ε complaints.narrative" in page and "Length KS complaints.narrative" in page


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("loans"), "has no table 'loans'"),
    (lambda t: t.__setitem__("users", t["users"].drop(columns=["credit_score"])), "lacks column(s) credit_score"),
])  # an empty synthetic table is a note, not an error: see tests/test_real_world_types.py
def test_mismatched_synthetic_tables(real, change, message):
    synthetic = {n: t.copy() for n, t in real.items()}
    change(synthetic)
    with pytest.raises(SynthbankError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(real, synthetic, demo_schema())


def test_unknown_target(real):
    with pytest.raises(SynthbankError, match="utility target 'loans.nope' does not exist"):
        evaluate(real, real, demo_schema(), targets=["loans.nope"])


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True, timeout=900,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dbs")
    write_demo_bank(f"sqlite:///{directory / 'real.db'}", users=60, seed=1)
    write_demo_bank(f"sqlite:///{directory / 'other.db'}", users=60, seed=2)
    return directory


def test_cli_evaluate(databases, tmp_path):
    code, out, err = run_cli("evaluate", str(databases / "real.db"), str(databases / "other.db"), "--out", str(tmp_path / "r"),
                             "--tables", "users,loans", "--target", "loans.is_default")
    assert code == 0, err
    assert "quality (SDMetrics)" in out and "Report written to" in out
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "report.json").is_file()


@pytest.mark.parametrize("args, message", [
    (["--target", "loans.nope"], "does not exist"),
    (["--tables", "nope"], "no table named 'nope'"),
])
def test_cli_evaluate_bad_input(databases, tmp_path, args, message):
    code, out, err = run_cli("evaluate", str(databases / "real.db"), str(databases / "other.db"), "--out", str(tmp_path / "r"), *args)
    assert code == 1 and message in err and "Traceback" not in err + out
    assert not (tmp_path / "r").exists()


def test_cli_evaluate_missing_table(databases, tmp_path):
    import sqlalchemy as sa

    shutil.copy(databases / "other.db", tmp_path / "partial.db")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'partial.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE transactions"))
    engine.dispose()
    code, out, err = run_cli("evaluate", str(databases / "real.db"), str(tmp_path / "partial.db"), "--out", str(tmp_path / "r"))
    assert code == 1 and "has no table 'transactions'" in err and "Traceback" not in err


def test_report_renders_in_chromium(copy_report, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (scripts/setup.sh installs Debian's chromium where it can)")
    copy_report.save(tmp_path / "report")
    png = tmp_path / "page.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}", "--window-size=1280,2400",
                    (tmp_path / "report" / "report.html").as_uri()], capture_output=True, timeout=120, check=True)
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("L"))
    assert pixels.shape[0] >= 2000
    assert (pixels < 200).mean() > 0.02  # text, tables and plots, not a blank page
    colored = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert (np.abs(colored[..., 0] - colored[..., 2]) > 60).mean() > 0.005  # the blue/orange plots are there


def test_split_keeps_families_together_and_is_random(real):
    from synthbank.evaluation.split import split_tables

    a, b = split_tables(demo_schema(), real, 0.5, seed=21)  # the seed the demo bank was generated with
    assert set(a["users"].user_id).isdisjoint(b["users"].user_id)
    assert set(a["loans"].user_id) <= set(a["users"].user_id) and set(b["loans"].user_id) <= set(b["users"].user_id)
    assert set(a["transactions"].loan_id) <= set(a["loans"].loan_id)
    shares = [part["users"].employment_status.value_counts(normalize=True).get("employed", 0) for part in (a, b)]
    assert abs(shares[0] - shares[1]) < 0.2  # not a copy of the generator's own random stream


def test_single_table_with_many_categories(tmp_path):
    """One table (SDMetrics' unified reports still need the multi-table form) whose categorical column has
    more categories than gradient boosting takes (255), with a user-chosen utility target."""
    import sqlalchemy as sa

    from synthbank.evaluation import evaluate_urls

    rng = np.random.default_rng(0)
    n = 1200
    frame = pd.DataFrame({"id": range(1, n + 1), "title": [f"job {i % 400}" for i in range(n)],
                          "grade": rng.choice(list("ABC"), n), "income": rng.normal(50, 10, n).round(1)})
    frame["bad"] = (frame["income"] + rng.normal(0, 5, n) < 45)
    urls = []
    for name, part in (("real", frame), ("synth", frame.sample(frac=1, random_state=1).assign(id=range(1, n + 1)))):
        url = f"sqlite:///{tmp_path / name}.db"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            part.to_sql("people", connection, index=False)
        engine.dispose()
        urls.append(url)
    report = evaluate_urls(*urls, targets=["people.bad", "people.grade"])
    assert report.summary["quality_score"] > 0.9
    assert set(report.summary["utility"]) == {"people.bad", "people.grade"}
    report.save(tmp_path / "report")
