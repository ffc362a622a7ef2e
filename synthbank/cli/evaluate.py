"""``synthbank evaluate`` (the report) and ``synthbank demo`` (the whole job on the demo bank).
"""

from __future__ import annotations

from rich.table import Table as RichTable

from synthbank.cli.console import console, progress_display
from synthbank.cli.options import conditions_from_args
from synthbank.cli.output import print_summary
from synthbank.errors import SynthbankError


def cmd_demo(args) -> None:
    from synthbank.demo import run_demo

    with progress_display() as (progress, say):
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
    with progress_display() as (progress, _):
        rebalance, where = conditions_from_args(args)
        report = evaluate_urls(args.real, args.synthetic, holdout_url=args.holdout, schema=args.schema, tables=tables,
                               targets=targets, seed=args.seed, progress=progress, model=args.model,
                               rebalance=rebalance, where=where, baseline_url=args.baseline,
                               sensitive=[c.strip() for c in args.sensitive or []])
        report.save(out)
    print_summary(report.summary)
    for note in report.data.get("notes") or []:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"Report written to {args.out}/report.html and {args.out}/report.json.")
