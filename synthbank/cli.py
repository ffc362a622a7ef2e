"""The ``synthbank`` command line. It only parses arguments and calls the Python API.

Every command mirrors a function or method of the API; errors the user can fix arrive as
:class:`~synthbank.errors.SynthbankError` and are printed as one sentence with exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections import Counter
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from synthbank import __version__
from synthbank.errors import SynthbankError
from synthbank.progress import LogProgress, ProgressEvent
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas import types
from synthbank.settings import Settings, choices
from synthbank.text.settings import GenerationSettings, TextSettings

console = Console()
err_console = Console(stderr=True)


@contextmanager
def _progress():
    """``(on_event, say)``: progress bars on a terminal, periodic lines (LogProgress) otherwise — a
    scheduler's log or ``synthbank demo > log`` sees how a long step goes instead of nothing."""
    if not err_console.is_terminal:
        yield LogProgress(write=_say), _say
        return
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)
    with bars:
        yield _bars(bars), bars.console.print


def _say(line: str) -> None:
    err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def _bars(bars: Progress):
    """A :class:`~synthbank.progress.Progress` callback keeping one bar per step phase (fitting, sampling,
    evaluating) and one per table or text column in the others (reading x, training y, writing z…)."""
    tasks: dict[tuple[str, str], int] = {}

    def on_event(event: ProgressEvent) -> None:
        key = event.key
        if key not in tasks:
            tasks[key] = bars.add_task(" ".join(k for k in key if k), total=event.total)
        if key[1]:  # a bar per item: its name stays
            description = " ".join(key)
        else:
            description = f"{event.phase} done" if event.finished else f"{event.phase} {event.item}".strip()
        bars.update(tasks[key], completed=event.done, total=event.total, description=description)

    return on_event


# --- commands -------------------------------------------------------------------------------------
def cmd_demo_db(args) -> None:
    from synthbank.database import display_url, normalize_url
    from synthbank.demo_bank import write_demo_bank

    url = normalize_url(args.target)
    with _progress() as (progress, _):
        report = write_demo_bank(url, users=args.users, seed=args.seed, replace=args.replace, progress=progress)
    summary = ", ".join(f"{n:,} {name}" for name, n in report.rows.items())
    console.print(f"Wrote the demo bank to {display_url(url)}: {summary}.")


def cmd_schema(args) -> None:
    from synthbank.schemas import reflect_schema

    if args.out:
        _check_output_file(args.out, "--out")
    tables = args.tables.split(",") if args.tables else None
    with err_console.status("Reflecting the schema…"):
        schema = reflect_schema(args.url, tables, sample_rows=args.sample_rows)
    if not args.no_rules:
        from synthbank.synthesizer import discover_schema_rules

        with err_console.status("Finding the rules every row obeys…"):
            schema = discover_schema_rules(args.url, schema, sample_rows=args.rule_rows)
    print_schema(schema, details=args.columns)
    for _, doubt in schema.key_doubts:  # found on a folder of files: clone/fit refuse until a schema file settles it
        console.print(f"Unsettled key: {doubt}", markup=False, highlight=False, soft_wrap=True)
    for note in schema.key_notes:
        console.print(f"Near miss: {note}", markup=False, highlight=False, soft_wrap=True)
    if args.out:
        path = schema.save(args.out)
        console.print(f"Schema written to {path} — review it (mark PII, free text, table modes) and pass it back with --schema.")


def _synthesizer_from_args(args):
    """The source reflected (read-only) and the synthesizer configured; nothing learned yet."""
    from synthbank.synthesizer import DatabaseSynthesizer

    tables = args.tables.split(",") if args.tables else None
    with err_console.status("Reflecting the source schema…"):
        return DatabaseSynthesizer.from_url(args.source, schema=args.schema, strict=args.strict,
                                            tables=tables, sample_rows=args.sample_rows,
                                            relational=_settings_from_args(args, RelationalSettings),
                                            text=None if args.no_text else _text_settings(args))


def _sample_and_write(synthesizer, args, progress, executor):
    rebalance, where = _conditions(args)
    return synthesizer.sample_to_url(args.target, scale=args.scale, seed=args.seed, replace=args.replace,
                                     chunk_rows=args.chunk_rows, batch_size=args.batch_size, progress=progress,
                                     executor=executor, block_rows=args.block_rows, rebalance=rebalance, where=where)


def _conditions(args) -> tuple[dict, dict]:
    """``--rebalance TABLE.COLUMN=VALUE:SHARE[,VALUE:SHARE]`` and ``--where TABLE.COLUMN=VALUE`` as the API takes them."""
    from synthbank.relational.conditions import ConditionError, parse_rebalance_option, parse_where_option

    rebalance, where = {}, {}
    for text in getattr(args, "rebalance", None) or []:
        name, shares = parse_rebalance_option(text)
        if name in rebalance:
            raise ConditionError(f"--rebalance names {name} twice; give its values in one option, e.g. {name}=A:0.3,B:0.2.")
        rebalance[name] = shares
    for text in getattr(args, "where", None) or []:
        name, value = parse_where_option(text)
        if name in where or name in rebalance:
            raise ConditionError(f"{name} has more than one condition.")
        where[name] = value
    return rebalance, where


def print_conditions(conditions: list[dict]) -> None:
    """Per conditioned value, one line: the share written, the share asked for and the real share."""
    for c in conditions:
        real = "" if c["real_share"] is None else f"; real {c['real_share']:.1%}"
        console.print(f"Condition {c['column']} = {c['value']}: {c['achieved_share']:.1%} of {c['rows']:,} rows "
                      f"(asked {c['requested_share']:.1%}{real}).", markup=False, highlight=False, soft_wrap=True)


def _executor(args):
    """In-process, ``--workers N`` local processes, or ``--ray auto|ADDRESS``."""
    from synthbank.executors import make_executor

    return make_executor(workers=args.workers, ray=args.ray)


def print_write_report(report, target: str, synthesizer) -> None:
    from synthbank.database import display_url, normalize_url

    table = RichTable(title=f"Written to {display_url(normalize_url(target))}", title_justify="left")
    for header in ("table", "rows", "orphan FKs", "duplicate keys", "NULL in NOT NULL"):
        table.add_column(header, justify="right" if header != "table" else "left")
    for name, check in report.tables.items():
        table.add_row(name, f"{check.rows:,}", str(check.orphan_fks), str(check.duplicate_unique), str(check.null_violations))
    console.print(table)
    console.print("Integrity: every foreign key resolves and every key is unique." if report.ok
                  else "[bold red]Integrity check failed[/]: see the table above.")
    print_conditions(getattr(report, "conditions", []))
    described = synthesizer.describe()
    for model in sorted(set(described["text_models"].values())):
        columns = [c for c, m in described["text_models"].items() if m == model]
        console.print(f"Free text written by the LoRA-tuned {model} model: {', '.join(columns)}.")
    for column, training in described["text_training"].items():
        console.print(text_training_line(column, training), markup=False, highlight=False, soft_wrap=True)
    if described["empty_text_columns"]:
        console.print(f"Free-text columns left empty (NULL, or '' where NOT NULL): {', '.join(described['empty_text_columns'])}.")
    if described["unsupported_columns"]:
        console.print(f"Columns synthbank cannot learn (written as NULL or a constant): {', '.join(described['unsupported_columns'])}.")
    if described.get("binary_columns"):
        console.print(f"Binary columns written as random bytes of the real lengths: {', '.join(described['binary_columns'])}.")
    if described.get("rules"):
        kinds = Counter(rule.kind for rule in synthesizer.relational_.schema_.rules)
        console.print(f"Kept in every synthetic row: {len(described['rules'])} rules every real row obeys "
                      f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}; `synthbank schema SOURCE` lists them).",
                      markup=False, highlight=False)
    if described.get("differential_privacy"):
        console.print(dp_line(described["differential_privacy"]), markup=False, highlight=False, soft_wrap=True)
    for note in described.get("notes") or []:
        console.print(f"Note: {note}", markup=False, highlight=False)


def dp_line(dp: dict) -> str:
    """One sentence on the differential-privacy guarantee of a model: the totals and each part's share."""
    parts = ", ".join(f"{name} {part['epsilon']:.2f}" for name, part in dp["parts"].items() if part["epsilon"] > 0)
    return (f"Differentially private: epsilon {dp['epsilon']:.2f}, delta {dp['delta']:.2g}, the unit being {dp['unit']}; "
            f"epsilon by part: {parts}.")


_STOPPED = {"steps": "all planned steps", "time": "time budget spent", "early": "validation loss stopped improving",
            "budget": "DP budget spent"}


def text_training_line(column: str, training: dict) -> str:
    """One sentence on how a text model was trained: steps, why it stopped, speed, and the DP guarantee."""
    validation = "" if training.get("validation_loss") is None else f", validation loss {training['validation_loss']:.2f}"
    dp = training.get("dp")
    privacy = (f"; differentially private: epsilon {dp['epsilon']:.2f} (asked {dp['target_epsilon']:g}), delta {dp['delta']:g}"
               if dp else "; not differentially private (--text-dp-epsilon trains with DP-SGD)")
    return (f"Text model {column}: {training['texts']:,} texts, {training['steps']} steps ({_STOPPED.get(training['stopped'], training['stopped'])}), "
            f"{training['tokens_per_second']:.0f} tokens/s{validation}{privacy}.")


def cmd_clone(args) -> None:
    rebalance, where = _conditions(args)
    synthesizer = _synthesizer_from_args(args)
    synthesizer.check_target(args.target, replace=args.replace)  # before the (long) fit
    synthesizer.check_conditions(rebalance, where)
    with _executor(args) as executor, _progress() as (progress, _):  # a Ray cluster is joined before the fit too
        synthesizer.fit(progress=progress, executor=executor)
        report = _sample_and_write(synthesizer, args, progress, executor)
    print_write_report(report, args.target, synthesizer)


def cmd_fit(args) -> None:
    from synthbank.files import check_replaceable

    check_replaceable(args.model)  # before the (long) fit: never replace a folder that is not a model
    synthesizer = _synthesizer_from_args(args)
    with _executor(args) as executor, _progress() as (progress, _):
        synthesizer.fit(progress=progress, executor=executor)
    path = synthesizer.save(args.model)
    described = synthesizer.describe()
    windows = "; ".join(described["windows"])
    text_note = f"; text models: {', '.join(described['text_models'])}" if described["text_models"] else ""
    label = "tables" if described.get("differential_privacy") else "HMA windows"
    console.print(f"Model saved to {path} ({label}: {windows}{text_note}). It contains pickles: share it only with people you trust.")
    for column, training in described["text_training"].items():
        console.print(text_training_line(column, training), markup=False, highlight=False, soft_wrap=True)
    if described.get("differential_privacy"):
        console.print(dp_line(described["differential_privacy"]), markup=False, highlight=False, soft_wrap=True)


def cmd_sample(args) -> None:
    from synthbank.synthesizer import DatabaseSynthesizer

    synthesizer = DatabaseSynthesizer.load(args.model, device=args.device)
    synthesizer.check_target(args.target, replace=args.replace)
    with _executor(args) as executor, _progress() as (progress, _):
        report = _sample_and_write(synthesizer, args, progress, executor)
    print_write_report(report, args.target, synthesizer)


def cmd_complaints_train(args) -> None:
    from synthbank.text.corpus import train_text_model

    context = [c.strip() for c in args.context.split(",") if c.strip()] if args.context else []
    with _progress() as (progress, _):
        model = train_text_model(args.data, args.text, context, args.model, table=args.table, progress=progress,
                                 rare_threshold=args.rare_threshold, **_text_settings(args).synthesizer_options())
    from synthbank.text.tables import training_summary

    console.print(f"Text model saved to {args.model}.")
    console.print(text_training_line(args.text, training_summary(model.training_stats_, model.max_new_tokens_)),
                  markup=False, highlight=False, soft_wrap=True)


def cmd_complaints_generate(args) -> None:
    from synthbank.text.corpus import generate_corpus

    options = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                 ("max_new_tokens", args.max_new_tokens), ("batch_size", args.batch_size),
                                 ("pii_fill", args.pii_fill)) if v is not None}
    with _progress() as (progress, _), _executor(args) as executor:
        corpus = generate_corpus(args.model, args.out, n=args.n, where=parse_where(args.where),
                                 context_from=args.context_from, seed=args.seed, device=args.device,
                                 progress=progress, executor=executor, **options)
    console.print(f"Wrote {len(corpus):,} texts to {args.out}.")


def cmd_demo(args) -> None:
    from synthbank.demo import run_demo

    with _progress() as (progress, say):
        result = run_demo(args.dir, users=args.users, seed=args.seed, quick=args.quick, progress=progress,
                          step=lambda name: say(f"→ {name}"))
    rows = RichTable(title="Rows", title_justify="left")
    for header in ("table", "real", "trained on", "holdout", "synthetic"):
        rows.add_column(header, justify="left" if header == "table" else "right")
    for name, counts in result.rows.items():
        rows.add_row(name, *(f"{counts[k]:,}" for k in ("real", "train", "holdout", "synthetic")))
    console.print(rows)
    print_summary(result.summary)
    console.print("Seconds per step: " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items())
                  + f" (total {sum(result.seconds.values()):.0f}).")
    paths = result.paths
    console.print(f"Real bank: {paths['bank.db']} · holdout: {paths['holdout.db']} · synthetic: {paths['synthetic.db']}")
    console.print(f"Report: {paths['report/report.html']} (open it in a browser) and {paths['report/report.html'].with_suffix('.json')}")


def cmd_evaluate(args) -> None:
    from pathlib import Path

    from synthbank.evaluation import evaluate_urls

    out = Path(args.out).expanduser().resolve()  # '.' has no name to stage a report folder beside
    if out.exists() and not out.is_dir():
        raise SynthbankError(f"--out '{args.out}' is a file; name a folder for report.json and report.html.")
    if not out.exists() and not out.parent.is_dir():
        raise SynthbankError(f"The folder '{out.parent}' for --out does not exist.")
    targets = [t.strip() for t in args.target] if args.target else None
    tables = args.tables.split(",") if args.tables else None
    with _progress() as (progress, _):
        rebalance, where = _conditions(args)
        report = evaluate_urls(args.real, args.synthetic, holdout_url=args.holdout, schema=args.schema, tables=tables,
                               targets=targets, seed=args.seed, progress=progress, model=args.model,
                               rebalance=rebalance, where=where, baseline_url=args.baseline,
                               sensitive=[c.strip() for c in args.sensitive or []])
        report.save(out)
    print_summary(report.summary)
    for note in report.data.get("notes") or []:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"Report written to {args.out}/report.html and {args.out}/report.json.")


def parse_where(items: list[str] | None) -> dict[str, str]:
    """``['product="Credit card"', 'state=CA']`` → ``{'product': 'Credit card', 'state': 'CA'}``."""
    where = {}
    for item in items or []:
        match = re.fullmatch(r"\s*([^=]+?)\s*=\s*(.*?)\s*", item)
        if not match:
            raise SynthbankError(f"--where takes COLUMN=VALUE, got {item!r}.")
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        where[match.group(1)] = value
    return where


def _check_output_file(path: str, option: str) -> None:
    """Before any long work: ``path`` must name a file in an existing, writable folder."""
    import os
    from pathlib import Path

    out = Path(path).expanduser()
    if out.is_dir() or path.endswith(("/", os.sep)):
        raise SynthbankError(f"{option} '{path}' is a folder; give a file name such as schema.yaml.")
    folder = out.resolve().parent
    if not folder.is_dir():
        raise SynthbankError(f"The folder '{folder}' for {option} does not exist.")
    if not os.access(folder, os.W_OK):
        raise SynthbankError(f"The folder '{folder}' for {option} is not writable.")


def print_summary(summary: dict) -> None:
    """The headline scores of an evaluation as a table."""
    def f(value):
        return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    table = RichTable(title="Evaluation (each score beside one real half scored against the other)", title_justify="left")
    for header in ("score", "synthetic", "real reference"):
        table.add_column(header, justify="left" if header == "score" else "right")
    table.add_row("integrity", "OK" if summary["integrity_ok"] else "FAILED",
                  f"{summary['orphan_foreign_keys']} orphan FKs, {summary['constraint_violations']} violations")
    table.add_row("quality (SDMetrics)", f(summary["quality_score"]), f(summary["quality_real_reference"]))
    table.add_row("diagnostic (SDMetrics)", f(summary["diagnostic_score"]), "")
    table.add_row("k-hop AVG 2-way", f(summary["k_hop_avg_2way"]), f(summary["k_hop_real_reference"]))
    table.add_row("detection accuracy (0.5 best)", f(summary["detection_accuracy"]), f(summary["detection_real_reference"]))
    references = summary.get("detection_per_table_real_reference") or {}
    for name, accuracy in (summary.get("detection_per_table") or {}).items():
        table.add_row(f"detection {name}, own columns", f(accuracy), f(references.get(name)))
    if summary.get("rule_break_share") is not None:
        kinds = ", ".join(f"{k} {v:.1%}" for k, v in (summary.get("rule_break_per_kind") or {}).items() if v)
        table.add_row("rows breaking a rule every real row obeys" + (f" ({kinds})" if kinds else ""),
                      f"{summary['rule_break_share']:.2%}", "0.00%")
    for column, text in summary["text"].items():
        table.add_row(f"MAUVE {column}", f(text["mauve"]), f(text["mauve_real_reference"]))
        table.add_row(f"category accuracy {column}", f(text["category_accuracy"]), f(text["category_real_reference"]))
        table.add_row(f"length KS {column} (0 best)", f(text["length_ks"]), f(text["length_ks_real_reference"]))
        table.add_row(f"texts ended {column}", f(text["ended_share"]), f(text["ended_share_real"]))
        if text.get("dp_epsilon") is not None:
            table.add_row(f"DP epsilon {column}", f(text["dp_epsilon"]), f"delta {text['dp_delta']:g}")
    table.add_row("PII leaks", str(summary["pii_leaks"]), "0")
    table.add_row("exact-copy share", f(summary["exact_copy_share"]), f(summary.get("exact_copy_real_reference")))
    table.add_row("DCR share (0.5 best)", f(summary["dcr_share"]), "needs --holdout" if summary["dcr_share"] is None else "")
    risk, mia = summary.get("reidentification_risk"), summary.get("membership_inference")
    table.add_row("re-identification risk, worst (0 best)", f"{risk['risk']:.3f} {risk['verdict']}" if risk else "—",
                  "needs --holdout" if risk is None else f"95% interval {risk['ci'][0]:.2f}–{risk['ci'][1]:.2f}")
    table.add_row("membership inference AUC, worst (0.5 best)", f"{mia['auc']:.3f} {mia['verdict']}" if mia else "—",
                  "needs --holdout" if mia is None else f"95% interval {mia['ci'][0]:.2f}–{mia['ci'][1]:.2f}")
    if summary.get("dp_epsilon") is not None:
        table.add_row("tables: differential privacy epsilon", f(summary["dp_epsilon"]), "")
    for c in summary.get("conditions") or []:
        table.add_row(f"share {c['column']}={c['value']} (asked {c['requested_share']:.2f})", f(c["synthetic_share"]),
                      f"{f(c['real_share'])} real")
        table.add_row(f"quality within {c['column']} groups", f(c["within_quality"]), f(c["within_quality_real_reference"]))
    for target, ratio in summary["utility"].items():
        table.add_row(f"utility {target} (ROC-AUC ratio)", f(ratio), "1.000")
        scores = summary.get("utility_scores", {}).get(target, {})
        if scores.get("recall_at_1pct_fpr_synthetic") is not None:
            table.add_row(f"recall@1%FPR {target}", f(scores["recall_at_1pct_fpr_synthetic"]),
                          f"{f(scores.get('recall_at_1pct_fpr_real'))} real-trained")
        if "roc_auc_baseline" in scores:
            table.add_row(f"ROC-AUC {target}", f(scores["roc_auc_synthetic"]), f"{f(scores['roc_auc_baseline'])} baseline")
            table.add_row(f"recall@1%FPR {target}", f(scores.get("recall_at_1pct_fpr_synthetic")),
                          f"{f(scores.get('recall_at_1pct_fpr_baseline'))} baseline")
    console.print(table)


def _text_settings(args) -> TextSettings:
    """TextSettings from the --text-* options that were given (the others keep their defaults)."""
    settings = _settings_from_args(args, TextSettings)
    return settings.replace(device=args.device) if getattr(args, "device", None) else settings


def _settings_from_args(args, cls: type[Settings], dest: str | None = None) -> Settings:
    """``cls`` with the fields whose options (:func:`_add_settings_options`) were given; the rest default."""
    dest = dest or cls.__name__
    given = {}
    for f, hint, _, _ in cls.described_fields():
        if _is_settings(hint):
            nested = _settings_from_args(args, hint, f"{dest}.{f.name}")
            if nested != hint():
                given[f.name] = nested
        elif f.metadata.get("cli") and getattr(args, f"{dest}.{f.name}", None) is not None:
            given[f.name] = getattr(args, f"{dest}.{f.name}")
    return cls(**given)


def _is_settings(hint) -> bool:
    return isinstance(hint, type) and issubclass(hint, Settings)


def _add_settings_options(p, cls: type[Settings], prefix: str = "", dest: str | None = None) -> None:
    """One option per field of ``cls`` (and of its nested settings) marked ``cli``, its help and default
    taken from the field: ``TrainingSettings.max_steps`` → ``--text-max-steps`` with ``prefix="text-"``."""
    dest = dest or cls.__name__
    for f, hint, help_text, default in cls.described_fields():
        if _is_settings(hint):
            _add_settings_options(p, hint, prefix, f"{dest}.{f.name}")
            continue
        if not f.metadata.get("cli"):
            continue
        name = f.metadata["cli"] if isinstance(f.metadata["cli"], str) else f.name
        options = {"dest": f"{dest}.{f.name}", "default": None}
        allowed = choices(hint)
        if allowed is not None:
            options["choices"] = list(allowed)
        else:
            kind = _argument_type(hint, f.metadata.get("bounds", {}))
            options.update(type=kind, metavar=f.metadata.get("metavar") or ("X" if kind in (float, _positive_float) else
                                                                             "N" if kind in (int, _positive_int) else "NAME"))
        shown = "" if default is None else f" (default {default:g})" if isinstance(default, float) else f" (default {default})"
        p.add_argument(f"--{prefix}{name.replace('_', '-')}", help=help_text + shown, **options)


def _argument_type(hint, bounds: dict):
    """An argparse type for an int, float or str field: a positive number where the field's range says so."""
    text = str(hint)
    positive = bounds.get("ge", 0) >= 1 or "gt" in bounds and bounds["gt"] >= 0
    if "int" in text:
        return _positive_int if positive else int
    if "float" in text:
        return _positive_float if positive else float
    return str


def print_schema(schema, *, details: bool = False) -> None:
    overview = RichTable(title="Tables", title_justify="left")
    for header in ("table", "rows", "primary key", "foreign keys", "PII columns", "free text"):
        overview.add_column(header, overflow="fold")
    for table in schema.tables.values():
        fks = [f"{', '.join(fk.columns)} → {fk.parent}({', '.join(fk.parent_columns)})" for fk in table.foreign_keys]
        pii = [f"{c.name} ({c.pii})" for c in table.columns.values() if c.is_pii]
        overview.add_row(table.name, f"{table.row_count:,}" if table.row_count is not None else "?",
                         ", ".join(table.primary_key) or "—", "\n".join(fks) or "—",
                         "\n".join(pii) or "—", ", ".join(table.columns_of("text")) or "—")
    console.print(overview)
    if getattr(schema, "locale", None):
        console.print(f"Fake names, streets and cities follow the locale {schema.locale} (from the people's names; "
                      "change `locale:` in the schema file).")
    if details:
        for table in schema.tables.values():
            columns = RichTable(title=f"{table.name}", title_justify="left")
            for header in ("column", "type", "sdtype", "pii", "nullable", "unique", "why personal / format"):
                columns.add_column(header)
            for c in table.columns.values():
                columns.add_row(c.name, c.type, c.sdtype, c.pii or "", "yes" if c.nullable else "no", "yes" if c.unique else "",
                                c.reason or (f"format {c.format}" if c.format else ""))
            console.print(columns)
    unsupported = [f"{t.name}.{c}" for t in schema.tables.values() for c in t.columns_of("unsupported")
                   if types.base_name(t.columns[c].type) != "binary"]
    binary = [f"{t.name}.{c}" for t in schema.tables.values() for c in t.columns_of("unsupported")
              if types.base_name(t.columns[c].type) == "binary"]
    if unsupported:
        console.print(f"Columns synthbank cannot learn (written as NULL): {', '.join(unsupported)}.")
    if binary:
        console.print(f"Binary columns (never learned; written as random bytes of the real lengths): {', '.join(binary)}.")
    if schema.rules:
        rules = RichTable(title="Rules every row obeys (kept by every synthetic row; edit `rules:` in the schema file)",
                          title_justify="left")
        for header in ("kind", "rule", "rows"):
            rules.add_column(header, overflow="fold")
        for rule in schema.rules:
            rules.add_row(rule.kind, str(rule), f"{rule.support:,}" if rule.support is not None else "")
        console.print(rules)


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
    p.add_argument("--users", type=_positive_int, help="demo bank size in users (default 500; --quick: 120)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quick", action="store_true", help="a smoke run: small bank, a few text training steps, short narratives")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("demo-db", help="write the demo bank (users, loans, transactions, complaints) into a database")
    p.add_argument("target", metavar="PATH_OR_URL", help="a SQLite file path or a SQLAlchemy URL")
    p.add_argument("--users", type=_positive_int, default=1000, help="number of users (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replace", action="store_true", help="overwrite the demo tables if the target has them")
    p.set_defaults(func=cmd_demo_db)

    p = sub.add_parser("schema", help="reflect a database and show tables, keys, PII and free-text columns")
    p.add_argument("url", metavar="URL", help="a SQLAlchemy URL or a SQLite file path (opened read-only)")
    p.add_argument("--out", metavar="FILE", help="write the schema to a .yaml or .json file for review")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--columns", action="store_true", help="also list every column with its type and sdtype")
    p.add_argument("--sample-rows", type=_positive_int, default=1000, help="rows per table read for detection")
    p.add_argument("--rule-rows", type=_positive_int, default=50_000,
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
    p.add_argument("--n", type=_positive_int, help="number of texts (contexts sampled from the training frequencies)")
    p.add_argument("--where", action="append", metavar='COLUMN="VALUE"', help='fix a context field, e.g. product="Credit card" (repeatable)')
    p.add_argument("--context-from", metavar="FILE", help="generate one text per row of this .csv/.jsonl/.parquet file")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--temperature", type=_positive_float, help=f"sampling temperature (default {defaults.temperature})")
    p.add_argument("--top-p", type=_positive_float, help=f"nucleus sampling share (default {defaults.top_p})")
    p.add_argument("--max-new-tokens", type=_positive_int, help="longest text in tokens (default: learned from the training texts, "
                   "a fifth above their 99th percentile)")
    p.add_argument("--batch-size", type=_positive_int, help=f"texts generated together (default {defaults.batch_size})")
    p.add_argument("--pii-fill", choices=GenerationSettings.field_choices("pii_fill"), help="placeholders become fake values (default) or XXXX")
    p.add_argument("--device", help="cpu, cuda, mps… (default: a GPU if one is visible)")
    _add_executor_options(p)
    p.set_defaults(func=cmd_complaints_generate)
    return parser


def _add_fit_options(p) -> None:
    p.add_argument("--schema", metavar="FILE", help="reviewed schema file (from `synthbank schema --out`)")
    p.add_argument("--strict", action="store_true", help="refuse any table or column the schema file does not classify")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--sample-rows", type=_positive_int, metavar="N", help="train on at most N rows per root table (children followed)")
    _add_settings_options(p, RelationalSettings)  # --engine, --rare-threshold
    _add_text_options(p, with_switch=True)


def _add_rare_option(p) -> None:
    p.add_argument("--rare-threshold", type=_positive_int, metavar="K",
                   help="a category held by fewer than K people never reaches the model (default: the schema file's, else 5)")


def _add_text_options(p, *, with_switch: bool) -> None:
    if with_switch:
        p.add_argument("--no-text", action="store_true", help="leave free-text columns empty instead of training the text model")
    _add_settings_options(p, TextSettings, prefix="text-")  # --text-model, --text-epochs, --text-max-steps, …
    p.add_argument("--device", help="cpu, cuda, mps… for the text model (default: a GPU if one is visible)")


def _add_executor_options(p) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="fit the HMA windows, sample the blocks and write the texts in N local processes (default: this process); the result is the same")
    where.add_argument("--ray", metavar="auto|ADDRESS",
                       help="run them on Ray: auto joins this machine's cluster (`ray start`) or starts a local one; "
                            "ADDRESS joins that cluster (pip install 'synthbank[ray]'); the output is the same")


def _add_sample_options(p) -> None:
    _add_executor_options(p)
    p.add_argument("--scale", type=_positive_float, default=1.0, help="size relative to the source (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replace", action="store_true", help="overwrite tables the target already has")
    p.add_argument("--batch-size", type=_positive_int, default=2000, help="rows per INSERT batch (default 2000)")
    p.add_argument("--chunk-rows", type=_positive_int, default=200_000, metavar="N",
                   help="rows sampled and written per chunk, all in one transaction (default 200,000); bounds memory, the output does not depend on it")
    p.add_argument("--block-rows", type=_positive_int, metavar="N",
                   help="synthetic rows per block, the unit workers share (default 50,000); like --seed, it changes the output")
    p.add_argument("--rebalance", action="append", metavar="TABLE.COLUMN=VALUE:SHARE",
                   help="the share of a table's rows that hold a value, e.g. transactions.is_fraud=true:0.2 or "
                        "loans.grade=A:0.3,B:0.3 (categorical and boolean columns of any table; repeatable, one column per table)")
    p.add_argument("--where", action="append", metavar="TABLE.COLUMN=VALUE",
                   help="every row of the table holds this value, e.g. loans.grade=A (repeatable)")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from synthbank.quiet import quiet_libraries

    quiet_libraries(verbose=args.verbose)  # no third-party warnings or progress bars unless -v
    try:
        args.func(args)
    except SynthbankError as exc:
        _print_error(str(exc), argv)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except OSError as exc:  # a file or folder that cannot be read or written
        where = f" '{exc.filename}'" if exc.filename else ""
        _print_error(f"{exc.strerror or exc.__class__.__name__}{where}.", argv)
        return 1
    except Exception as exc:  # a bug: one sentence (the traceback with --verbose), never a password
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _print_error(f"unexpected {exc.__class__.__name__}{': ' + first if first else ''} — this is a bug in synthbank"
                     f"{'' if args.verbose else '; run with --verbose for the traceback'}.", argv)
        if args.verbose:
            import traceback

            err_console.print(_hide_passwords(traceback.format_exc(), argv), markup=False, highlight=False)
        return 1
    return 0


def _hide_passwords(text: str, argv: list[str]) -> str:
    """``text`` with URL passwords masked, and any password given on the command line hidden wherever it appears."""
    from synthbank.database import mask_passwords, url_passwords

    text = mask_passwords(text)
    for password in sorted({p for arg in argv for p in url_passwords(arg)}, key=len, reverse=True):
        text = text.replace(password, "***")
    return text


#: The library's errors name API arguments; the CLI says the option that sets each.
API_TO_FLAG = [("replace=True", "--replace"), ("strict=True", "--strict"), ("schema=", "--schema"),
               ("table=", "--table"), ("n=", "--n"), ("context_from=", "--context-from"), ("where=", "--where"),
               ("out=", "--out"), ("base_model=", "--text-model"), ("sample_rows", "--sample-rows")]


def in_cli_terms(message: str) -> str:
    """``message`` with each API argument it names (``replace=True``) replaced by its option (``--replace``)."""
    for api, flag in API_TO_FLAG:
        message = re.sub(rf"(?<![\w.-]){re.escape(api)}", flag, message)
    return message


def _print_error(message: str, argv: list[str]) -> None:
    """One line on stderr; the message is printed as plain text (a '[' in it is not rich markup)."""
    err_console.print("error: " + _hide_passwords(in_cli_terms(message), argv), style="bold red", markup=False,
                      highlight=False, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
