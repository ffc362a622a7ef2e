"""Progress of long steps, as structured events: one type, one protocol, from every part of synthbank.

Every long step — reading a table, fitting a window, training a text model, sampling, generating texts,
writing a table, evaluating — reports :class:`ProgressEvent` objects to a callable that takes one event
(:class:`Progress`). Whoever shows them (the CLI's progress bars, :class:`LogProgress` in a scheduler's
log, a job's own metrics) reads fields, never parses a message::

    def show(event: ProgressEvent) -> None:
        print(event.phase, event.item, event.done, event.total)

    DatabaseSynthesizer.from_url(url).fit(progress=show)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Literal, Protocol

#: The long steps, in the order a clone runs them.
Phase = Literal["reading", "fitting", "training", "sampling", "generating", "writing", "evaluating"]
PHASES: tuple[str, ...] = Phase.__args__
#: Phases whose ``done``/``total`` count the phase's own steps (windows, evaluation steps), ``item`` naming
#: the step under way; in the others they count the units (rows, training steps, texts) of that item.
STEP_PHASES = frozenset({"fitting", "sampling", "evaluating"})


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units of ``phase`` on ``item``.

    Units are rows (reading, writing), windows of the foreign-key graph (fitting, sampling: every block
    samples each window once), training steps, texts (generating) or evaluation steps. ``item`` names
    what the phase works on: a table, a window such as ``users → loans``, a text column
    ``complaints.narrative``, an evaluation step; "" for the phase as a whole. ``total`` is None where
    it is not known (rows of a table whose size the database did not tell).
    """

    phase: Phase
    item: str = ""
    done: int = 0
    total: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What one progress bar follows: the phase (step phases) or the phase on this item."""
        return (self.phase, "") if self.phase in STEP_PHASES else (self.phase, self.item)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total

    def __str__(self) -> str:
        of = f"/{self.total:,}" if self.total is not None else ""
        return f"{self.phase}{' ' + self.item if self.item else ''}: {self.done:,}{of}"


class Progress(Protocol):
    """Anything that takes a :class:`ProgressEvent`: a function, a bound method, an object with ``__call__``."""

    def __call__(self, event: ProgressEvent, /) -> None: ...


def report(progress: Progress | None, phase: Phase, item: str = "", done: int = 0, total: int | None = None) -> None:
    """Send one event to ``progress`` (nothing when it is None)."""
    if progress is not None:
        progress(ProgressEvent(phase, item, done, total))


class RowCounter:
    """Rows of each table done so far, reported as one event per chunk: ``add(table, n, total)``."""

    def __init__(self, progress: Progress | None, phase: Phase):
        self.progress, self.phase = progress, phase
        self.done: dict[str, int] = {}

    def add(self, table: str, n: int, total: int | None) -> None:
        self.done[table] = self.done.get(table, 0) + n
        report(self.progress, self.phase, table, self.done[table], total)


class LogProgress:
    """Progress as periodic lines, for runs without a terminal (a scheduler's log, ``synthbank demo > log``).

    A step (a phase on one item) that runs longer than ``every`` seconds gets a line every ``every``
    seconds and one when it finishes, with the seconds since it began: ``training complaints.narrative:
    24/48 (31 s)``. Shorter steps stay silent, so a quick run (or one that stops at a bad input) prints
    nothing but its result. ``write`` takes each line (default: standard error).
    """

    def __init__(self, write=None, every: float = 10.0, clock=time.monotonic):
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.every, self.clock = every, clock
        self.started: dict[tuple[str, str], float] = {}
        self.last: dict[tuple[str, str], float] = {}
        self.closed: set[tuple[str, str]] = set()

    def __call__(self, event: ProgressEvent) -> None:
        key, now = event.key, self.clock()
        if key in self.closed:
            if event.finished:
                return
            self.closed.discard(key)  # the same step again (a second sample): a fresh start
            self.started.pop(key, None)
            self.last.pop(key, None)
        start = self.started.setdefault(key, now)
        last = self.last.get(key, start)
        if event.finished:
            self.closed.add(key)
            if now - start < self.every:
                return
        elif now - last < self.every:
            return
        self.last[key] = now
        self.write(f"{event} ({now - start:.0f} s)")
