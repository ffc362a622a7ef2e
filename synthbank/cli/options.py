"""Turning parsed arguments into the API's values: settings dataclasses from their options, conditions,
the executor, the synthesizer made from a source.
"""

from __future__ import annotations

import argparse
import re

from synthbank.cli.console import err_console
from synthbank.errors import SynthbankError
from synthbank.relational.settings import RelationalSettings
from synthbank.settings import Settings, choices
from synthbank.text.settings import TextSettings


def synthesizer_from_args(args):
    """The source reflected (read-only) and the synthesizer configured; nothing learned yet."""
    from synthbank.synthesizer import DatabaseSynthesizer

    tables = args.tables.split(",") if args.tables else None
    with err_console.status("Reflecting the source schema…"):
        return DatabaseSynthesizer.from_url(args.source, schema=args.schema, strict=args.strict,
                                            tables=tables, sample_rows=args.sample_rows,
                                            relational=settings_from_args(args, RelationalSettings),
                                            text=None if args.no_text else text_settings(args))


def sample_and_write(synthesizer, args, progress, executor):
    rebalance, where = conditions_from_args(args)
    return synthesizer.sample_to_url(args.target, scale=args.scale, seed=args.seed, replace=args.replace,
                                     chunk_rows=args.chunk_rows, batch_size=args.batch_size, progress=progress,
                                     executor=executor, block_rows=args.block_rows, rebalance=rebalance, where=where)


def conditions_from_args(args) -> tuple[dict, dict]:
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


def executor_from_args(args):
    """In-process, ``--workers N`` local processes, or ``--ray auto|ADDRESS``."""
    from synthbank.executors import make_executor

    return make_executor(workers=args.workers, ray=args.ray)


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


def check_output_file(path: str, option: str) -> None:
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


def text_settings(args) -> TextSettings:
    """TextSettings from the --text-* options that were given (the others keep their defaults)."""
    settings = settings_from_args(args, TextSettings)
    return settings.replace(device=args.device) if getattr(args, "device", None) else settings


def settings_from_args(args, cls: type[Settings], dest: str | None = None) -> Settings:
    """``cls`` with the fields whose options (:func:`add_settings_options`) were given; the rest default."""
    dest = dest or cls.__name__
    given = {}
    for f, hint, _, _ in cls.described_fields():
        if _is_settings(hint):
            nested = settings_from_args(args, hint, f"{dest}.{f.name}")
            if nested != hint():
                given[f.name] = nested
        elif f.metadata.get("cli") and getattr(args, f"{dest}.{f.name}", None) is not None:
            given[f.name] = getattr(args, f"{dest}.{f.name}")
    return cls(**given)


def _is_settings(hint) -> bool:
    return isinstance(hint, type) and issubclass(hint, Settings)


def add_settings_options(p, cls: type[Settings], prefix: str = "", dest: str | None = None) -> None:
    """One option per field of ``cls`` (and of its nested settings) marked ``cli``, its help and default
    taken from the field: ``TrainingSettings.max_steps`` → ``--text-max-steps`` with ``prefix="text-"``."""
    dest = dest or cls.__name__
    for f, hint, help_text, default in cls.described_fields():
        if _is_settings(hint):
            add_settings_options(p, hint, prefix, f"{dest}.{f.name}")
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
            options.update(type=kind, metavar=f.metadata.get("metavar") or ("X" if kind in (float, positive_float) else
                                                                             "N" if kind in (int, positive_int) else "NAME"))
        shown = "" if default is None else f" (default {default:g})" if isinstance(default, float) else f" (default {default})"
        p.add_argument(f"--{prefix}{name.replace('_', '-')}", help=help_text + shown, **options)


def _argument_type(hint, bounds: dict):
    """An argparse type for an int, float or str field: a positive number where the field's range says so."""
    text = str(hint)
    positive = bounds.get("ge", 0) >= 1 or "gt" in bounds and bounds["gt"] >= 0
    if "int" in text:
        return positive_int if positive else int
    if "float" in text:
        return positive_float if positive else float
    return str


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
