"""Structured progress: every long step reports ProgressEvent objects through one protocol, and runs without
a terminal get periodic lines instead of nothing."""

from __future__ import annotations

from synthbank import DatabaseSynthesizer
from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.progress import PHASES, LogProgress, ProgressEvent, RowCounter


def test_api_reports_events_for_every_long_step(tmp_path):
    events: list[ProgressEvent] = []
    synthesizer = DatabaseSynthesizer(demo_schema(), text=False).fit(generate_demo_bank(users=40, seed=1),
                                                                     progress=events.append)
    synthesizer.sample_to_url(f"sqlite:///{tmp_path / 'out.db'}", seed=2, progress=events.append)
    assert all(isinstance(e, ProgressEvent) and e.phase in PHASES for e in events)
    phases = [e.phase for e in events]
    assert phases.index("fitting") < phases.index("sampling") < phases.index("writing")
    fitting = [e for e in events if e.phase == "fitting"]
    assert fitting[-1].finished and fitting[-1].total == len(synthesizer.relational_.windows_)
    assert any("→" in e.item for e in fitting)  # the window under way, e.g. users → complaints, loans
    written = {}
    for e in events:
        if e.phase == "writing":
            assert e.done >= written.get(e.item, 0)  # cumulative, per table
            written[e.item] = e.done
    assert set(written) == {"users", "loans", "transactions", "complaints"}


def test_reading_a_database_reports_rows_per_table(tmp_path):
    from synthbank.demo_bank import write_demo_bank

    url = f"sqlite:///{tmp_path / 'bank.db'}"
    writes: list[ProgressEvent] = []
    report = write_demo_bank(url, users=30, seed=0, progress=writes.append)
    assert {e.item: e.done for e in writes} == report.rows
    events: list[ProgressEvent] = []
    DatabaseSynthesizer.from_url(url, text=False).fit(progress=events.append)
    read = {e.item: e for e in events if e.phase == "reading"}
    assert {t: e.done for t, e in read.items()} == report.rows and all(e.finished for e in read.values())


def test_row_counter_accumulates_per_table():
    events = []
    counter = RowCounter(events.append, "writing")
    counter.add("a", 10, 25)
    counter.add("b", 5, None)
    counter.add("a", 15, 25)
    assert [(e.item, e.done, e.total, e.finished) for e in events] == [("a", 10, 25, False), ("b", 5, None, False),
                                                                        ("a", 25, 25, True)]


def test_log_progress_prints_long_steps_periodically_and_short_ones_not_at_all():
    now = [0.0]
    lines: list[str] = []
    log = LogProgress(write=lines.append, every=10, clock=lambda: now[0])

    def at(t, *args):
        now[0] = t
        log(ProgressEvent(*args))

    at(0, "reading", "users", 100, 100)  # done at once: silent
    at(0, "training", "complaints.narrative", 0, 48)
    at(4, "training", "complaints.narrative", 2, 48)  # too soon for a line
    at(11, "training", "complaints.narrative", 6, 48)
    at(15, "training", "complaints.narrative", 9, 48)
    at(22, "training", "complaints.narrative", 14, 48)
    at(30, "training", "complaints.narrative", 48, 48)
    at(31, "training", "complaints.narrative", 48, 48)  # the same end twice: one line
    at(40, "fitting", "users → loans", 0, 3)  # step phases: one key, the item is the step under way
    at(52, "fitting", "loans → transactions", 1, 3)
    at(53, "fitting", "", 3, 3)
    assert lines == ["training complaints.narrative: 6/48 (11 s)", "training complaints.narrative: 14/48 (22 s)",
                     "training complaints.narrative: 48/48 (30 s)", "fitting loans → transactions: 1/3 (12 s)",
                     "fitting: 3/3 (13 s)"]
