"""Run by tests/test_executors.py in a fresh Python process: fits a tiny text model on the demo bank and
prints, as JSON, the narratives of one seed drawn in this process (twice), in two local worker processes
and on an in-process Ray, with the complaint rows they were written for and the progress events seen.

It runs apart from pytest because in a long pytest process that had run other torch work, texts were seen
to differ in a few near-tied tokens (see the README, "Beyond one machine"); a fresh process is what every
``synthbank`` command is."""

from __future__ import annotations

import json
import sys


def main() -> None:
    from synthbank import DatabaseSynthesizer
    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.executors import LocalProcesses, RayExecutor
    from synthbank.text.settings import TextSettings

    tiny = {"training": {"max_steps": 2, "batch_size": 4, "max_length": 96, "max_examples": 16},
            "generation": {"max_new_tokens": 6}}
    model = DatabaseSynthesizer(demo_schema(), text=TextSettings.from_dict(tiny)).fit(generate_demo_bank(users=240, seed=0))

    def complaints(executor=None, progress=None) -> dict:
        table = model.sample(seed=4, executor=executor, progress=progress)["complaints"]
        return {"narratives": table["narrative"].tolist(),
                "rows": table.drop(columns="narrative").astype(str).to_dict("list")}

    out = {"in_process": complaints(), "in_process_again": complaints()}
    events = []
    with LocalProcesses(2) as executor:
        out["two_workers"] = complaints(executor, events.append)
    out["generating"] = [[e.item, bool(e.finished)] for e in events if e.phase == "generating"]
    with RayExecutor(address="local", num_cpus=2) as executor:
        out["ray"] = complaints(executor)
    out["other_seed"] = model.sample(seed=5)["complaints"]["narrative"].tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":  # spawned workers import this file: only the parent runs it
    main()
