"""Typed settings in PEFT's style: dataclass fields with their help, choices and ranges written once.

A settings class is a dataclass deriving from :class:`Settings` whose fields are made with :func:`setting`::

    @dataclass
    class TrainingSettings(Settings):
        epochs: float = setting(1.0, "passes over the texts", gt=0, cli=True)

Building one checks every field — a ``Literal`` choice, a range (``gt``, ``ge``, ``lt``, ``le``; None is
always allowed where the type admits it) — and names the field in the one-sentence error.
:meth:`Settings.to_dict` / :meth:`Settings.from_dict` round-trip through JSON (nested settings as
mappings; unknown keys refused). The CLI builds its options from the fields marked ``cli``, so each
default and help text exists once.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from synthbank.errors import SynthbankError

_BOUNDS = {"gt": ("greater than", lambda v, b: v > b), "ge": ("at least", lambda v, b: v >= b),
           "lt": ("less than", lambda v, b: v < b), "le": ("at most", lambda v, b: v <= b)}


def setting(default: Any = MISSING, help: str = "", *, default_factory: Any = MISSING, cli: bool | str = False,
            gt: float | None = None, ge: float | None = None, lt: float | None = None, le: float | None = None,
            metavar: str | None = None):
    """A settings field: its default, its help text, its range, and whether the CLI offers it (``cli``: True,
    or the option's own name where it is not the field's, e.g. ``"model"`` for ``--text-model``)."""
    bounds = {k: v for k, v in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if v is not None}
    metadata = {"help": help, "cli": cli, "bounds": bounds, "metavar": metavar}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _unwrap_optional(hint) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; anything else → ``(hint, False)``."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
    return hint, False


def choices(hint) -> tuple | None:
    """The values a ``Literal`` (or optional ``Literal``) field admits, else None."""
    inner, _ = _unwrap_optional(hint)
    return get_args(inner) if get_origin(inner) is Literal else None


@dataclass
class Settings:
    """Base of every settings dataclass: checks on construction, dict round trip."""

    def __post_init__(self):
        hints = get_type_hints(type(self))
        for f in fields(self):
            hint = hints[f.name]
            value = getattr(self, f.name)
            inner, optional = _unwrap_optional(hint)
            if isinstance(inner, type) and issubclass(inner, Settings) and isinstance(value, dict):
                value = inner.from_dict(value)
                setattr(self, f.name, value)
            where = f"{type(self).__name__}.{f.name}"
            if value is None:
                if not optional:
                    raise SynthbankError(f"{where} cannot be None.")
                continue
            allowed = choices(hint)
            if allowed is not None and value not in allowed:
                raise SynthbankError(f"{where} is {value!r}; use one of {', '.join(map(repr, allowed))}.")
            if inner is bool and not isinstance(value, bool):
                raise SynthbankError(f"{where} is {value!r}; use true or false.")
            if inner in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise SynthbankError(f"{where} is {value!r}; use a number.")
            if inner is int and isinstance(value, float):
                if not value.is_integer():
                    raise SynthbankError(f"{where} is {value!r}; use a whole number.")
                setattr(self, f.name, int(value))
            for bound, limit in f.metadata.get("bounds", {}).items():
                words, holds = _BOUNDS[bound]
                if not holds(value, limit):
                    raise SynthbankError(f"{where} must be {words} {limit:g}, got {value!r}.")

    def to_dict(self) -> dict:
        """Plain values (nested settings as dicts), ready for JSON."""
        return {f.name: (v.to_dict() if isinstance(v := getattr(self, f.name), Settings) else
                         list(v) if isinstance(v, (list, tuple)) else v) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict | None):
        """Build from a mapping (missing keys take their defaults), refusing unknown keys in one sentence."""
        data = dict(data or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SynthbankError(f"Unknown {cls.__name__} option(s): {', '.join(map(str, unknown))} "
                                 f"(known: {', '.join(known)}).")
        return cls(**data)

    def replace(self, **changes):
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_choices(cls, name: str) -> list | None:
        """The values a ``Literal`` field admits."""
        allowed = choices(get_type_hints(cls)[name])
        return list(allowed) if allowed is not None else None

    @classmethod
    def described_fields(cls):
        """``(field, type hint, help, default)`` for every field, in order (for the CLI and the docs)."""
        hints = get_type_hints(cls)
        for f in fields(cls):
            default = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING else None)
            yield f, hints[f.name], f.metadata.get("help", ""), default


__all__ = ["Settings", "setting", "choices"]
