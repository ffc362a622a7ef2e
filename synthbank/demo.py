"""``synthbank demo``: the whole job on the embedded demo bank, end to end.

1. write the demo bank into ``DIR/bank.db`` (SQLite);
2. keep 20% of its customers (with their loans, transactions and complaints) apart as a holdout
   (``DIR/holdout.db``) the synthesizer never sees;
3. fit synthbank on the other 80% — tables with the windowed HMA, narratives with the LoRA-tuned LLM —
   and write a synthetic copy of the same size into ``DIR/synthetic.db``;
4. evaluate synthetic vs real (holdout as reference) into ``DIR/report/report.{html,json}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from synthbank.errors import SynthbankError
from synthbank.progress import Progress
from synthbank.text.settings import GenerationSettings, TextSettings, TrainingSettings

log = logging.getLogger(__name__)

DEFAULT_DEMO_USERS = 500
HOLDOUT_SHARE = 0.2
#: the narratives' training budget: the whole demo (500 customers) stays within about 10 minutes on 2 cores
TEXT_TRAIN_MINUTES = 5.0
DEMO_TEXT = TextSettings(training=TrainingSettings(max_minutes=TEXT_TRAIN_MINUTES, epochs=10))
#: --quick: a smoke run of the same steps (tiny text training, short narratives).
QUICK = {"users": 120, "text": TextSettings(training=TrainingSettings(max_steps=6, max_examples=48),
                                             generation=GenerationSettings(max_new_tokens=40))}


@dataclass
class DemoResult:
    directory: Path
    rows: dict[str, dict[str, int]]  # table → {"real", "train", "holdout", "synthetic"}
    seconds: dict[str, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)  # the evaluation's headline scores
    integrity_ok: bool = False

    @property
    def paths(self) -> dict[str, Path]:
        return {name: self.directory / name for name in ("bank.db", "holdout.db", "synthetic.db", "report/report.html")}


def run_demo(directory: str | Path = "synthbank-demo", *, users: int | None = None, seed: int = 0, quick: bool = False,
             progress: Progress | None = None, step: Callable[[str], None] | None = None) -> DemoResult:
    """Run the four steps; ``step(name)`` is called as each begins, ``progress`` inside the long ones."""
    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.evaluation import evaluate
    from synthbank.evaluation.split import split_tables
    from synthbank.io.writer import write_tables
    from synthbank.synthesizer import DatabaseSynthesizer

    users = users or (QUICK["users"] if quick else DEFAULT_DEMO_USERS)
    if users < 20:
        raise SynthbankError(f"The demo needs at least 20 users, got {users}.")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise SynthbankError(f"'{directory}' exists and is not a directory.")
    directory.mkdir(parents=True, exist_ok=True)
    schema = demo_schema()
    seconds: dict[str, float] = {}

    def begin(name: str) -> float:
        if step:
            step(name)
        log.info("demo: %s", name)
        return time.perf_counter()

    start = begin("writing the demo bank")
    tables = generate_demo_bank(users=users, seed=seed)
    write_tables(f"sqlite:///{directory / 'bank.db'}", schema, tables, replace=True)
    train, holdout = split_tables(schema, tables, 1 - HOLDOUT_SHARE, seed)
    write_tables(f"sqlite:///{directory / 'holdout.db'}", schema, holdout, replace=True)
    seconds["demo bank"] = time.perf_counter() - start

    start = begin("learning tables and narratives")
    synthesizer = DatabaseSynthesizer(schema, text=QUICK["text"] if quick else DEMO_TEXT)
    synthesizer.fit(train, progress=progress)
    seconds["fit"] = time.perf_counter() - start

    start = begin("sampling the synthetic bank")
    synthetic = synthesizer.sample(seed=seed, progress=progress)
    report = synthetic.to_url(f"sqlite:///{directory / 'synthetic.db'}", replace=True)
    seconds["sample"] = time.perf_counter() - start

    start = begin("evaluating")
    evaluation = evaluate(train, dict(synthetic), schema, holdout=holdout, seed=seed, progress=progress,
                          text_models=synthesizer.describe()["text_training"])
    evaluation.save(directory / "report")
    seconds["evaluate"] = time.perf_counter() - start

    rows = {name: {"real": len(tables[name]), "train": len(train[name]), "holdout": len(holdout[name]),
                   "synthetic": len(synthetic[name])} for name in schema.tables}
    return DemoResult(directory, rows, {k: round(v, 1) for k, v in seconds.items()}, evaluation.summary, report.ok)
