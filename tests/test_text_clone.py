"""The text engine inside `synthbank clone`, and the `synthbank complaints train|generate` commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa

from synthbank.demo_bank import generate_demo_bank, write_demo_bank
from synthbank.synthesizer import DatabaseSynthesizer
from synthbank.text.scrub import PLACEHOLDER_RE, PiiScrubber
from synthbank.text.settings import TextSettings
from synthbank.text.tables import candidate_context

TINY = {"training": {"max_steps": 2, "batch_size": 4, "max_length": 96, "max_examples": 16},
        "generation": {"max_new_tokens": 20, "batch_size": 16}}
TINY_CLI = ["--text-max-steps", "1", "--text-max-examples", "8", "--text-max-new-tokens", "12"]


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True, timeout=900,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(__import__("pathlib").Path.home())})
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('src') / 'bank.db'}"
    write_demo_bank(url, users=150, seed=5)
    return url


@pytest.fixture(scope="module")
def real(bank):
    engine = sa.create_engine(bank)
    tables = {t: pd.read_sql_table(t, engine) for t in ("users", "complaints")}
    engine.dispose()
    return tables


@pytest.fixture(scope="module")
def cloned(bank):
    synthesizer = DatabaseSynthesizer.from_url(bank, text=TextSettings.from_dict(TINY)).fit()
    return synthesizer, synthesizer.sample(seed=1)


def test_candidates_include_parent_fields(bank):
    from synthbank.schemas import reflect_schema

    names = [name for name, _, _ in candidate_context(reflect_schema(bank), "complaints")]
    assert "product" in names and "issue" in names and "loans.grade" in names and "users.home_ownership" in names


def test_clone_writes_narratives_conditioned_on_the_row(cloned, real):
    synthesizer, synthetic = cloned
    assert synthesizer.generated_text_columns == ["complaints.narrative"]
    fields = [name for name, _, _ in synthesizer.texts_.fields_[("complaints", "narrative")]]
    assert "product" in fields or "issue" in fields  # the texts depend on them: chosen by their lift
    narratives = synthetic["complaints"]["narrative"]
    real_null = real["complaints"]["narrative"].isna().mean()
    assert narratives.notna().sum() > 0.6 * len(narratives)
    assert abs(narratives.isna().mean() - real_null) < 0.15


def test_clone_narratives_hold_no_real_pii(cloned, real):
    _, synthetic = cloned
    users = real["users"]
    scrubber = PiiScrubber({"name": users.full_name, "email": users.email, "phone": users.phone, "ssn": users.ssn})
    for text in synthetic["complaints"]["narrative"].dropna():
        assert not scrubber.find(text), text
        assert not PLACEHOLDER_RE.search(text)


def test_saved_database_model_includes_the_text_model(cloned, tmp_path):
    synthesizer, synthetic = cloned
    synthesizer.save(tmp_path / "model")
    assert (tmp_path / "model" / "text" / "texts.json").is_file()
    loaded = DatabaseSynthesizer.load(tmp_path / "model")
    again = loaded.sample(seed=1)
    assert loaded.generated_text_columns == ["complaints.narrative"]
    assert again["complaints"]["narrative"].notna().sum() > 0
    from synthbank.evaluation import text_training_of

    training = synthesizer.describe()["text_training"]
    assert training["complaints.narrative"]["steps"] == 2 and training["complaints.narrative"]["dp"] is None
    assert text_training_of(str(tmp_path / "model")) == training == loaded.describe()["text_training"]


def test_cli_clone_with_text(bank, tmp_path):
    target = f"sqlite:///{tmp_path / 'synth.db'}"
    code, out, err = run_cli("clone", bank, target, "--sample-rows", "60", *TINY_CLI)
    assert code == 0, err
    assert "Free text written by the LoRA-tuned smollm2-135m-instruct model: complaints.narrative" in out
    assert "Text model complaints.narrative: " in out and "1 steps (all planned steps)" in out and "not differentially private" in out
    engine = sa.create_engine(target)
    with engine.connect() as connection:
        written = connection.execute(sa.text("SELECT COUNT(*) FROM complaints WHERE narrative IS NOT NULL AND narrative <> ''")).scalar_one()
    engine.dispose()
    assert written > 0


@pytest.fixture(scope="module")
def complaints_csv(tmp_path_factory):
    tables = generate_demo_bank(users=150, seed=3)
    frame = tables["complaints"].merge(tables["users"][["user_id", "full_name", "email"]], on="user_id")
    path = tmp_path_factory.mktemp("corpus") / "complaints.csv"
    frame[["product", "issue", "state", "full_name", "email", "narrative"]].to_csv(path, index=False)
    return path, frame


def test_cli_complaints_train_and_generate(complaints_csv, tmp_path):
    path, frame = complaints_csv
    model = tmp_path / "model"
    code, out, err = run_cli("complaints", "train", "--data", str(path), "--text", "narrative",
                             "--context", "product,issue,state", "--model", str(model), "--text-max-steps", "1",
                             "--text-max-examples", "8")
    assert code == 0, err
    assert "Text model saved to" in out
    corpus = tmp_path / "corpus.jsonl"
    code, out, err = run_cli("complaints", "generate", "--model", str(model), "--n", "6", "--where", 'product="Credit card"',
                             "--max-new-tokens", "16", "--out", str(corpus))
    assert code == 0, err
    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    assert len(rows) == 6 and all(r["product"] == "Credit card" and r["narrative"] for r in rows)

    assert set(rows[0]) == {"product", "issue", "state", "narrative"}
    real_names = PiiScrubber({"name": frame.full_name, "email": frame.email})
    assert not any(real_names.find(r["narrative"]) for r in rows)

    context = tmp_path / "context.csv"
    pd.DataFrame({"product": ["Credit card", "Mortgage"], "issue": ["Late fee", "Applying for a mortgage"],
                  "state": ["CA", "NY"]}).to_csv(context, index=False)
    code, out, err = run_cli("complaints", "generate", "--model", str(model), "--context-from", str(context),
                             "--max-new-tokens", "12", "--pii-fill", "mask", "--out", str(tmp_path / "c.parquet"))
    assert code == 0, err
    generated = pd.read_parquet(tmp_path / "c.parquet")
    assert generated["product"].tolist() == ["Credit card", "Mortgage"]


def test_cli_complaints_train_with_differential_privacy(complaints_csv, tmp_path):
    path, _ = complaints_csv
    model = tmp_path / "model"
    code, out, err = run_cli("complaints", "train", "--data", str(path), "--text", "narrative", "--context", "product",
                             "--model", str(model), "--text-dp-epsilon", "6", "--text-dp-delta", "1e-4",
                             "--text-max-examples", "40", "--text-max-steps", "3")
    assert code == 0, err
    saved = json.loads((model / "text_model.json").read_text())["dp"]
    assert 0 < saved["epsilon"] <= 6 and saved["delta"] == 1e-4
    assert f"differentially private: epsilon {saved['epsilon']:.2f} (asked 6), delta 0.0001" in out


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "{csv}", "--text", "narrative", "--context", "product,nope", "--model", "{tmp}/m"], "'nope' not found"),
    (["train", "--data", "{csv}", "--text", "product", "--context", "issue", "--model", "{tmp}/m", "--text-model", "{tmp}/nowhere/x"], "does not exist"),
    (["train", "--data", "{tmp}/missing.csv", "--text", "narrative", "--model", "{tmp}/m"], "does not exist"),
    (["train", "--data", "{tmp}/data.xlsx", "--text", "narrative", "--model", "{tmp}/m"], "Cannot read"),
    (["train", "--data", "{csv}", "--text", "narrative", "--model", "{tmp}/m", "--text-dp-delta", "1.5"], "dp_delta must be less than 1"),
    (["generate", "--model", "{tmp}", "--n", "3", "--out", "{tmp}/c.jsonl"], "not a synthbank model directory"),
    (["generate", "--model", "{tmp}", "--n", "3", "--out", "{tmp}/c.txt"], "--out must end in"),
    (["generate", "--model", "{tmp}", "--out", "{tmp}/c.csv"], "--n"),
    (["generate", "--model", "{tmp}", "--n", "2", "--where", "product", "--out", "{tmp}/c.csv"], "COLUMN=VALUE"),
])
def test_cli_complaints_bad_input(complaints_csv, tmp_path, args, message):
    path, _ = complaints_csv
    args = [a.replace("{csv}", str(path)).replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run_cli("complaints", *args)
    assert code == 1, err
    assert message in err and "Traceback" not in err + out
    assert not (tmp_path / "m").exists() and not list(tmp_path.glob("c.*"))


@pytest.mark.parametrize("option, value", [("--text-dp-epsilon", "0"), ("--text-train-minutes", "-2")])
def test_cli_bad_text_training_options_are_usage_errors(complaints_csv, tmp_path, option, value):
    path, _ = complaints_csv
    code, out, err = run_cli("complaints", "train", "--data", str(path), "--text", "narrative", "--model", str(tmp_path / "m"), option, value)
    assert code == 2 and f"argument {option}: must be" in err and "Traceback" not in err + out
    assert not (tmp_path / "m").exists()
