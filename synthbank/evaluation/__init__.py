"""Scores and the report: integrity, fidelity, text similarity, privacy and utility."""

from synthbank.evaluation.evaluate import evaluate
from synthbank.evaluation.report import Report

__all__ = ["evaluate", "evaluate_urls", "Report"]


def evaluate_urls(real_url: str, synthetic_url: str, *, holdout_url: str | None = None, schema=None,
                  tables: list[str] | None = None, targets: list[str] | None = None, seed: int = 0,
                  progress=None, model: str | None = None, rebalance: dict | None = None, where: dict | None = None,
                  baseline_url: str | None = None, sensitive: list[str] | None = None) -> Report:
    """Read both databases (read-only) and :func:`evaluate` them; the schema is reflected from the real one.
    ``model``: the synthbank model directory that wrote the synthetic one, for how its texts were trained
    (the differential-privacy guarantee among it). ``rebalance``/``where``: the conditions it was sampled
    with; ``baseline_url``: another synthetic database (the plain clone) whose utility is shown beside;
    ``sensitive``: more ``table.column`` for the inference attack."""
    from synthbank.io.reader import read_tables
    from synthbank.schemas.reflect import reflect_schema
    from synthbank.schemas.resolve import resolve_schema

    reflected = reflect_schema(real_url, tables)
    schema = resolve_schema(reflected, schema)
    _check_synthetic(schema, synthetic_url, "synthetic")
    if baseline_url:
        _check_synthetic(schema, baseline_url, "baseline")
    real = read_tables(real_url, schema)
    synthetic = read_tables(synthetic_url, schema)
    holdout = read_tables(holdout_url, schema) if holdout_url else None
    baseline = read_tables(baseline_url, schema) if baseline_url else None
    text_models = text_training_of(model) if model else None
    return evaluate(real, synthetic, schema, holdout=holdout, targets=targets, seed=seed, progress=progress,
                    text_models=text_models, rebalance=rebalance, where=where, baseline=baseline,
                    sensitive=sensitive, table_privacy=dp_statement_of(model, text_models) if model else None)


def _check_synthetic(schema, url: str, label: str) -> None:
    from synthbank.errors import SynthbankError
    from synthbank.schemas.reflect import reflect_schema

    synthetic_schema = reflect_schema(url)
    for name, table in schema.tables.items():
        if table.is_excluded:
            continue
        if name not in synthetic_schema.tables:
            raise SynthbankError(f"The {label} database has no table '{name}', which the real one has.")
        missing = [c for c in table.columns if c not in synthetic_schema.tables[name].columns]
        if missing:
            raise SynthbankError(f"The {label} table '{name}' lacks column(s) {', '.join(missing)} of the real one.")


def dp_statement_of(model: str, text_models: dict | None = None) -> dict | None:
    """The differential-privacy statement of a saved model whose tables were learned with DP (the texts' DP-SGD
    joined to it), read from its JSON files; None for a model without DP."""
    import json
    from pathlib import Path

    from synthbank.dp.accounting import with_texts
    from synthbank.files import verify_model_directory

    directory = verify_model_directory(Path(model), "database")
    state = json.loads((directory / "relational" / "relational.json").read_text())
    tables = state.get("differential_privacy")
    return with_texts(tables, text_models or {}) if tables else None


def text_training_of(model: str) -> dict:
    """How the text models of a saved synthbank model were trained (read from its JSON files)."""
    from pathlib import Path

    from synthbank.files import verify_model_directory
    from synthbank.text.tables import DatabaseTexts

    directory = verify_model_directory(Path(model), "database")
    return DatabaseTexts.read_training_summary(directory / "text") if (directory / "text" / "texts.json").is_file() else {}
