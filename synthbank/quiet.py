"""Keeping third-party chatter off the terminal unless the user asks for it (``-v``).

The libraries synthbank stands on talk: transformers draws a progress bar while it de-quantizes GGUF
weights, faiss (inside MAUVE) prints ``WARNING clustering 54 points to 2 centroids`` from C++, pandas and
SDV raise ``FutureWarning``\\ s, PyTorch and Opacus ``UserWarning``\\ s. None of it is something a user of
synthbank can act on. :func:`quiet_libraries` is called once by the CLI (and may be by any program that
embeds synthbank): without ``verbose`` it turns warnings off, sets the Hugging Face libraries to errors
only and without progress bars; :func:`silenced_stderr` closes the C-level stderr around a call whose
library prints there directly. synthbank's own messages go through :mod:`logging` and the CLI's console,
which stay untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

#: Loggers of libraries that log at INFO/WARNING about their own internals.
_CHATTY_LOGGERS = ("transformers", "sentence_transformers", "peft", "datasets", "sdv", "rdt", "sdmetrics", "copulas",
                   "ray", "opacus", "faiss", "numba", "matplotlib", "PIL", "urllib3", "filelock", "httpx")
_quiet = False


def quiet_libraries(verbose: bool = False) -> None:
    """Unless ``verbose``: no warnings, no library progress bars, libraries' loggers at ERROR."""
    global _quiet
    _quiet = not verbose
    if verbose:
        return
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # worker processes (--workers) start with the same filter
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # honoured by transformers' own tqdm bars too
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    hush_loggers()
    if "transformers" in sys.modules:  # imported before this call: its settings were read already
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def hush_loggers() -> None:
    """The libraries' loggers at ERROR when quiet; called again after a library that sets its loggers up on
    import (Ray) is imported."""
    if _quiet:
        for name in _CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Close file descriptor 2 to /dev/null for the block (C and C++ code printing directly), when quiet."""
    if not _quiet:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedding host): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
