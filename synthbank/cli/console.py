"""The terminal: the consoles synthbank prints on, and progress as bars on a terminal or as a line every
10 seconds in a log.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from synthbank.progress import LogProgress, ProgressEvent

console = Console()


err_console = Console(stderr=True)


@contextmanager
def progress_display():
    """``(on_event, say)``: progress bars on a terminal, periodic lines (LogProgress) otherwise — a
    scheduler's log or ``synthbank demo > log`` sees how a long step goes instead of nothing."""
    if not err_console.is_terminal:
        yield LogProgress(write=say), say
        return
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=err_console, transient=False)
    with bars:
        yield _bars(bars), bars.console.print


def say(line: str) -> None:
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
