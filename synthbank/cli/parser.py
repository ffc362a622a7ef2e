"""The argument parser: every command, its options and their help (the documentation's CLI reference is
generated from it), and ``--version``.
"""

from __future__ import annotations

import argparse

from synthbank import __version__
from synthbank.cli.clone import cmd_clone, cmd_fit, cmd_sample
from synthbank.cli.complaints import cmd_complaints_generate, cmd_complaints_train
from synthbank.cli.console import err_console
from synthbank.cli.evaluate import cmd_demo, cmd_evaluate
from synthbank.cli.options import add_settings_options, positive_float, positive_int
from synthbank.cli.schema import cmd_demo_db, cmd_schema
from synthbank.relational.settings import RelationalSettings
from synthbank.text.settings import GenerationSettings, TextSettings


# --- parser ---------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the usage itself is one ``--help`` away), passwords masked."""

    def error(self, message: str):
        from synthbank.database import mask_passwords

        err_console.print(f"{self.prog}: error: {mask_passwords(message)} (see {self.prog} --help).", markup=False, highlight=False, soft_wrap=True)
        self.exit(2)


#: Libraries whose versions decide synthbank's results (models, scores, files), shown by --version.
RESULT_LIBRARIES = ("sdv", "rdt", "sdmetrics", "copulas", "torch", "transformers", "peft", "opacus", "sentence-transformers",
                    "anonymeter", "pandas", "numpy", "scikit-learn", "sqlalchemy", "duckdb", "pyarrow", "faker")


def versions() -> str:
    """``synthbank X`` and one line per library that decides results: ``  sdv 1.x``, or ``not installed``."""
    from importlib.metadata import PackageNotFoundError, version

    lines = [f"synthbank {__version__}"]
    for name in RESULT_LIBRARIES:
        try:
            lines.append(f"  {name} {version(name)}")
        except PackageNotFoundError:
            lines.append(f"  {name} not installed")
    return "\n".join(lines)


class _Versions(argparse.Action):
    """``--version``: one line per library, as written (argparse's own action would rewrap them)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(versions())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="synthbank", description="Privacy-safe synthetic copies of financial databases.")
    parser.add_argument("--version", action=_Versions, nargs=0,
                        help="synthbank's version and those of the libraries that decide its results")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what synthbank does (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the whole job on the demo bank: write it, clone it (tables and narratives), evaluate")
    p.add_argument("--dir", default="synthbank-demo", metavar="DIR", help="where the databases and the report go (default ./synthbank-demo)")
    p.add_argument("--users", type=positive_int, help="demo bank size in users (default 500; --quick: 120)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quick", action="store_true", help="a smoke run: small bank, a few text training steps, short narratives")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("demo-db", help="write the demo bank (users, loans, transactions, complaints) into a database")
    p.add_argument("target", metavar="PATH_OR_URL", help="a SQLite file path or a SQLAlchemy URL")
    p.add_argument("--users", type=positive_int, default=1000, help="number of users (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replace", action="store_true", help="overwrite the demo tables if the target has them")
    p.set_defaults(func=cmd_demo_db)

    p = sub.add_parser("schema", help="reflect a database and show tables, keys, PII and free-text columns")
    p.add_argument("url", metavar="URL", help="a SQLAlchemy URL or a SQLite file path (opened read-only)")
    p.add_argument("--out", metavar="FILE", help="write the schema to a .yaml or .json file for review")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--columns", action="store_true", help="also list every column with its type and sdtype")
    p.add_argument("--sample-rows", type=positive_int, default=1000, help="rows per table read for detection")
    p.add_argument("--rule-rows", type=positive_int, default=50_000,
                   help="root rows read (children followed) to find the rules every row obeys (default 50000)")
    p.add_argument("--no-rules", action="store_true", help="do not look for rules (the schema file gets none: fitting "
                                                           "finds them unless --rules schema)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("clone", help="learn a database and write a synthetic copy with the same DDL")
    p.add_argument("source", metavar="SOURCE_URL", help="database to learn (opened read-only)")
    p.add_argument("target", metavar="TARGET_URL", help="database to write (created; refused if it has the tables)")
    _add_fit_options(p)
    _add_sample_options(p)
    p.set_defaults(func=cmd_clone)

    p = sub.add_parser("fit", help="learn a database and save the model to a directory")
    p.add_argument("source", metavar="SOURCE_URL", help="database to learn (opened read-only)")
    p.add_argument("--model", required=True, metavar="DIR", help="model directory to write")
    _add_fit_options(p)
    _add_executor_options(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("sample", help="write a synthetic database from a saved model")
    p.add_argument("target", metavar="TARGET_URL", help="database to write")
    p.add_argument("--model", required=True, metavar="DIR", help="model directory written by `synthbank fit`")
    _add_sample_options(p)
    p.add_argument("--device", help="cpu, cuda, mps… for the text models (default: a GPU if one is visible)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("evaluate", help="score a synthetic database against the real one: report.json and report.html")
    p.add_argument("real", metavar="REAL_URL", help="the real database (opened read-only)")
    p.add_argument("synthetic", metavar="SYNTH_URL", help="the synthetic database (opened read-only)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for report.json and report.html")
    p.add_argument("--holdout", metavar="URL", help="real rows the synthesizer never saw (enables the DCR share, the "
                                                    "re-identification risks and membership inference; utility test set)")
    p.add_argument("--sensitive", action="append", metavar="TABLE.COLUMN",
                   help="a column the inference attack tries to guess (repeatable; beside the utility targets and income-like columns)")
    p.add_argument("--target", action="append", metavar="TABLE.COLUMN", help="utility target (repeatable; default: columns named like default/fraud)")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--schema", metavar="FILE", help="reviewed schema file (from `synthbank schema --out`)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the splits and classifiers (default 0)")
    p.add_argument("--model", metavar="DIR", help="the synthbank model that wrote the synthetic database: its text "
                                                  "training (and DP epsilon) goes into the report")
    p.add_argument("--rebalance", action="append", metavar="TABLE.COLUMN=VALUE:SHARE",
                   help="the --rebalance the synthetic database was sampled with: shares beside the real ones, "
                        "fidelity within each condition, the column as a utility target (repeatable)")
    p.add_argument("--where", action="append", metavar="TABLE.COLUMN=VALUE", help="the --where it was sampled with (repeatable)")
    p.add_argument("--baseline", metavar="URL", help="another synthetic database (e.g. the plain clone): its utility is shown beside")
    p.set_defaults(func=cmd_evaluate)

    complaints = sub.add_parser("complaints", help="train a text model on a complaint corpus and generate synthetic corpora")
    csub = complaints.add_subparsers(dest="complaints_command", required=True, metavar="SUBCOMMAND")
    p = csub.add_parser("train", help="fine-tune the text model (LoRA) on texts and their context fields")
    p.add_argument("--data", required=True, metavar="FILE_OR_URL", help=".csv/.jsonl/.parquet file, or a database URL with --table")
    p.add_argument("--table", help="the table to read when --data is a database URL")
    p.add_argument("--text", required=True, metavar="COLUMN", help="the text column, e.g. narrative")
    p.add_argument("--context", metavar="C1,C2", help="context columns the text is conditioned on, e.g. product,issue,state")
    p.add_argument("--model", required=True, metavar="DIR", help="text model directory to write")
    _add_rare_option(p)
    _add_text_options(p, with_switch=False)
    p.set_defaults(func=cmd_complaints_train)

    defaults = GenerationSettings()
    p = csub.add_parser("generate", help="write a synthetic corpus from a trained text model")
    p.add_argument("--model", required=True, metavar="DIR", help="text model directory written by `complaints train`")
    p.add_argument("--out", required=True, metavar="FILE", help="corpus file: .jsonl, .csv or .parquet")
    p.add_argument("--n", type=positive_int, help="number of texts (contexts sampled from the training frequencies)")
    p.add_argument("--where", action="append", metavar='COLUMN="VALUE"', help='fix a context field, e.g. product="Credit card" (repeatable)')
    p.add_argument("--context-from", metavar="FILE", help="generate one text per row of this .csv/.jsonl/.parquet file")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--temperature", type=positive_float, help=f"sampling temperature (default {defaults.temperature})")
    p.add_argument("--top-p", type=positive_float, help=f"nucleus sampling share (default {defaults.top_p})")
    p.add_argument("--max-new-tokens", type=positive_int, help="longest text in tokens (default: learned from the training texts, "
                   "a fifth above their 99th percentile)")
    p.add_argument("--batch-size", type=positive_int, help=f"texts generated together (default {defaults.batch_size})")
    p.add_argument("--pii-fill", choices=GenerationSettings.field_choices("pii_fill"), help="placeholders become fake values (default) or XXXX")
    p.add_argument("--device", help="cpu, cuda, mps… (default: a GPU if one is visible)")
    _add_executor_options(p)
    p.set_defaults(func=cmd_complaints_generate)
    return parser


def _add_fit_options(p) -> None:
    p.add_argument("--schema", metavar="FILE", help="reviewed schema file (from `synthbank schema --out`)")
    p.add_argument("--strict", action="store_true", help="refuse any table or column the schema file does not classify")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--sample-rows", type=positive_int, metavar="N", help="train on at most N rows per root table (children followed)")
    add_settings_options(p, RelationalSettings)  # --engine, --rare-threshold
    _add_text_options(p, with_switch=True)


def _add_rare_option(p) -> None:
    p.add_argument("--rare-threshold", type=positive_int, metavar="K",
                   help="a category held by fewer than K people never reaches the model (default: the schema file's, else 5)")


def _add_text_options(p, *, with_switch: bool) -> None:
    if with_switch:
        p.add_argument("--no-text", action="store_true", help="leave free-text columns empty instead of training the text model")
    add_settings_options(p, TextSettings, prefix="text-")  # --text-model, --text-epochs, --text-max-steps, …
    p.add_argument("--device", help="cpu, cuda, mps… for the text model (default: a GPU if one is visible)")


def _add_executor_options(p) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="N",
                       help="fit the HMA windows, sample the blocks and write the texts in N local processes (default: this process); the result is the same")
    where.add_argument("--ray", metavar="auto|ADDRESS",
                       help="run them on Ray: auto joins this machine's cluster (`ray start`) or starts a local one; "
                            "ADDRESS joins that cluster (pip install 'synthbank[ray]'); the output is the same")


def _add_sample_options(p) -> None:
    _add_executor_options(p)
    p.add_argument("--scale", type=positive_float, default=1.0, help="size relative to the source (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replace", action="store_true", help="overwrite tables the target already has")
    p.add_argument("--batch-size", type=positive_int, default=2000, help="rows per INSERT batch (default 2000)")
    p.add_argument("--chunk-rows", type=positive_int, default=200_000, metavar="N",
                   help="rows sampled and written per chunk, all in one transaction (default 200,000); bounds memory, the output does not depend on it")
    p.add_argument("--block-rows", type=positive_int, metavar="N",
                   help="synthetic rows per block, the unit workers share (default 50,000); like --seed, it changes the output")
    p.add_argument("--rebalance", action="append", metavar="TABLE.COLUMN=VALUE:SHARE",
                   help="the share of a table's rows that hold a value, e.g. transactions.is_fraud=true:0.2 or "
                        "loans.grade=A:0.3,B:0.3 (categorical and boolean columns of any table; repeatable, one column per table)")
    p.add_argument("--where", action="append", metavar="TABLE.COLUMN=VALUE",
                   help="every row of the table holds this value, e.g. loans.grade=A (repeatable)")
