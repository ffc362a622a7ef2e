"""Pictures of measured figures for the documentation, drawn from the JSON files the benchmarks write.

Each figure is drawn only from a benchmark's own output (never from numbers typed here), so a re-run redraws it:

* ``formats.json`` (``scale.py --formats``) → ``formats.png``: seconds and peak memory of the same clone from
  and to SQLite, DuckDB and a Parquet folder;
* ``key_discovery/results.json`` (``key_discovery.py``) → ``key_discovery.png``: keys found, missed and wrong
  per data set, and the true keys the data itself breaks.

    python benchmarks/plots.py --formats out/bench/scale/formats/formats.json --keys out/bench/key_discovery/results.json --out docs/images
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_formats(path: Path, out: Path) -> Path:
    data = json.loads(path.read_text())
    runs = data["runs"]
    labels = [f"{r['format']} → {r['format']}" for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 2.8))
    left.barh(labels, [r["wall_s"] for r in runs], color="#3f51b5")
    left.set_xlabel("seconds, end to end")
    right.barh(labels, [r["peak_mb"] for r in runs], color="#9fa8da")
    right.set_xlabel("peak RSS (MB)")
    right.set_yticklabels([])
    for axis, key, fmt in ((left, "wall_s", "{:.0f} s"), (right, "peak_mb", "{:,.0f} MB")):
        for i, r in enumerate(runs):
            axis.text(r[key], i, " " + fmt.format(r[key]), va="center", fontsize=8)
        axis.spines[["top", "right"]].set_visible(False)
        axis.set_xlim(0, max(r[key] for r in runs) * 1.25)
    rows = runs[0]["rows"]
    fig.suptitle(f"synthbank clone --no-text of the demo bank at {runs[0]['users']:,} users ({rows:,} rows)", fontsize=10)
    fig.tight_layout()
    target = out / "formats.png"
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def plot_keys(path: Path, out: Path) -> Path:
    sets = json.loads(path.read_text())  # one entry per data set
    names = [s["dataset"] for s in sets]
    found = [s["pk_found"] + s["fk_found"] for s in sets]
    missed = [s["pk_missed"] + s["fk_missed"] for s in sets]
    wrong = [s["pk_wrong"] + s["fk_wrong"] for s in sets]
    broken = [s.get("not_in_data", 0) for s in sets]
    fig, axis = plt.subplots(figsize=(8, 2.9))
    axis.barh(names, found, color="#2e7d32", label="found")
    axis.barh(names, missed, left=found, color="#ffb300", label="missed")
    axis.barh(names, wrong, left=[f + m for f, m in zip(found, missed)], color="#c62828", label="wrong")
    axis.barh(names, broken, left=[f + m + w for f, m, w in zip(found, missed, wrong)], color="#bdbdbd", label="broken by the data")
    axis.invert_yaxis()
    axis.set_xlabel("primary and foreign keys of the truth")
    axis.legend(frameon=False, fontsize=8, loc="lower right")
    axis.spines[["top", "right"]].set_visible(False)
    axis.set_title("Keys found on files without declared keys (benchmarks/key_discovery.py)", fontsize=10)
    fig.tight_layout()
    target = out / "key_discovery.png"
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", type=Path, help="formats.json of scale.py --formats")
    parser.add_argument("--keys", type=Path, help="results.json of key_discovery.py")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.formats:
        print(plot_formats(args.formats, args.out))
    if args.keys:
        print(plot_keys(args.keys, args.out))


if __name__ == "__main__":
    main()
