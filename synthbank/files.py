"""Model directories written all at once: readers see the old one or the complete new one, never half of it.

A directory synthbank writes carries a marker, ``synthbank-model.json``, written last, listing every file
with its size and SHA-256. Only an empty folder, a missing one or one holding such a marker (or the layout
of a model written before markers existed) is ever replaced, so a mistyped ``--model .`` or ``--model ~/docs``
cannot delete anyone's files. The new model is written into a hidden staging folder beside the target; the
old one is renamed aside, the new one renamed in, and only then is the old one deleted (on a failure the old
one is renamed back). Loading checks the marker, so a half-written or damaged directory gives one sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synthbank.errors import SynthbankError

MARKER = "synthbank-model.json"
#: Files that identify a model directory written before the marker existed.
_LEGACY_LAYOUTS = (("relational/manifest.json", "relational/relational.json"), ("manifest.json", "relational.json"),
                   ("text_model.json", "adapter_config.json"))


def is_model_directory(directory: str | Path) -> bool:
    """Whether ``directory`` holds a synthbank model (its marker, or an older model's layout)."""
    directory = Path(directory)
    return directory.is_dir() and ((directory / MARKER).is_file() or any(
        all((directory / name).is_file() for name in layout) for layout in _LEGACY_LAYOUTS))


def check_replaceable(directory: str | Path, *, marker: str = MARKER, what: str = "model") -> Path:
    """Raise unless ``directory`` may be (re)written as a model directory: missing, empty, or a model.

    With another ``marker`` (a folder of synthetic tables, ``what="folder of synthetic tables"``): missing,
    empty, or holding that marker."""
    directory = Path(directory)
    holds = is_model_directory if marker == MARKER else (lambda d: (Path(d) / marker).is_file())
    if str(directory).strip() == "":
        raise SynthbankError(f"The {what} directory name is empty.")
    resolved = directory.expanduser().resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or resolved == Path.home().resolve() or resolved.parent == resolved:
        raise SynthbankError(f"Refusing to write a {what} over '{directory}': it is the current folder, one of its parents "
                             "or your home folder; name a new directory.")
    if directory.is_symlink():
        raise SynthbankError(f"Refusing to replace '{directory}': it is a symbolic link; name a real directory.")
    if directory.exists() and not directory.is_dir():
        raise SynthbankError(f"Refusing to replace '{directory}': it is a file, not a {what} directory.")
    ancestor = resolved.parent
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not _writable(ancestor):
        raise SynthbankError(f"Cannot write the {what} directory '{directory}': the folder '{ancestor}' is not writable.")
    if directory.is_dir() and not holds(directory) and any(directory.iterdir()):
        raise SynthbankError(f"Refusing to replace '{directory}': it is a folder that does not hold a synthbank {what}; "
                             "name a new or empty directory.")
    return directory


@contextmanager
def staged_directory(directory: str | Path, kind: str = "model", *, marker: str = MARKER,
                     what: str = "model") -> Iterator[Path]:
    """Yield a staging folder beside ``directory``; on success it atomically replaces ``directory``
    (refused unless that is missing, empty or a synthbank model — or holds ``marker``), on error it is removed."""
    from synthbank import __version__

    directory = check_replaceable(directory, marker=marker, what=what)
    parent, name = directory.parent, directory.name
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(directory)
        staging = parent / f".{name}.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:
        raise SynthbankError(f"Cannot write the {what} directory '{directory}': {exc.strerror or exc}.") from None
    try:
        yield staging
        files = {str(p.relative_to(staging)): _fingerprint(p) for p in sorted(staging.rglob("*"))
                 if p.is_file() and p.name != marker}
        content = {"synthbank_model": kind, "synthbank_version": __version__, "files": files}
        (staging / marker).write_text(json.dumps(content, indent=1))
        check_replaceable(directory, marker=marker, what=what)  # again: the folder may have changed during a long fit
        _swap(staging, directory)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SynthbankError(f"Cannot write the {what} directory '{directory}': {exc.strerror or exc}.") from None
        raise


def _swap(staging: Path, directory: Path) -> None:
    """Rename the old directory aside, the new one in, then delete the old one (restored on failure)."""
    if not directory.exists():
        os.rename(staging, directory)
        return
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(directory, old)
    try:
        os.rename(staging, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _clean_stale(directory: Path) -> None:
    """Remove staging folders of synthbank processes that died (kill -9); put back an old model a dead
    process had renamed aside but not yet replaced."""
    for path in directory.parent.glob(f".{directory.name}.*-*"):
        stem, _, pid = path.name.rpartition("-")
        if stem not in (f".{directory.name}.partial", f".{directory.name}.old") or not pid.isdigit() or process_alive(int(pid)):
            continue
        if stem.endswith(".old") and not directory.exists():
            os.rename(path, directory)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _writable(folder: Path) -> bool:
    """Whether a folder can be created in ``folder`` (tried: permission bits do not tell root or read-only mounts)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".synthbank-probe-", dir=folder))
    except OSError:
        return False
    return True


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (a stale partial file's owner, say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def verify_model_directory(directory: str | Path, kind: str) -> Path:
    """Check that ``directory`` is a complete synthbank model of ``kind`` ("database" or "text"): every file
    its marker lists is there with the same size and hash. Raises one sentence otherwise."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SynthbankError(f"The model directory '{directory}' does not exist.")
    marker_path = directory / MARKER
    if not marker_path.is_file():  # written last: without it the directory is incomplete, older or not a model
        raise SynthbankError(f"'{directory}' is not a synthbank model directory, or not a complete one (no {MARKER}: "
                             "written incompletely, or by an older synthbank; refit it).")
    try:
        marker = json.loads(marker_path.read_text())
        files = marker["files"]
        written_kind = marker["synthbank_model"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise SynthbankError(f"The model directory '{directory}' is damaged: its {MARKER} cannot be read.") from None
    if written_kind != kind and "model" not in (written_kind, kind):
        raise SynthbankError(f"'{directory}' holds a synthbank {written_kind} model, not a {kind} model.")
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise SynthbankError(f"The model directory '{directory}' is incomplete: '{name}' is missing.")
        if path.stat().st_size != expected.get("size") or _fingerprint(path)["sha256"] != expected.get("sha256"):
            raise SynthbankError(f"The model directory '{directory}' is damaged: '{name}' changed since it was written.")
    return directory
