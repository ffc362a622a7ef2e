"""``synthbank clone``, ``fit`` and ``sample``: learn a database and write synthetic copies of it.
"""

from __future__ import annotations

from synthbank.cli.console import console, progress_display
from synthbank.cli.options import conditions_from_args, executor_from_args, sample_and_write, synthesizer_from_args
from synthbank.cli.output import dp_line, print_write_report, text_training_line


def cmd_clone(args) -> None:
    rebalance, where = conditions_from_args(args)
    synthesizer = synthesizer_from_args(args)
    synthesizer.check_target(args.target, replace=args.replace)  # before the (long) fit
    synthesizer.check_conditions(rebalance, where)
    with executor_from_args(args) as executor, progress_display() as (progress, _):  # a Ray cluster is joined before the fit too
        synthesizer.fit(progress=progress, executor=executor)
        report = sample_and_write(synthesizer, args, progress, executor)
    print_write_report(report, args.target, synthesizer)


def cmd_fit(args) -> None:
    from synthbank.files import check_replaceable

    check_replaceable(args.model)  # before the (long) fit: never replace a folder that is not a model
    synthesizer = synthesizer_from_args(args)
    with executor_from_args(args) as executor, progress_display() as (progress, _):
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
    with executor_from_args(args) as executor, progress_display() as (progress, _):
        report = sample_and_write(synthesizer, args, progress, executor)
    print_write_report(report, args.target, synthesizer)
