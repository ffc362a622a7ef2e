"""synthbank's error hierarchy.

Every error a user can cause (bad URL, unreachable server, unknown table, bad option…) is raised as a
:class:`SynthbankError` subclass whose message is one plain sentence. The CLI catches this one base class
and prints the message; anything else is a bug and keeps its traceback.
"""


class SynthbankError(Exception):
    """Base class of every error synthbank raises on bad input."""


class DatabaseConnectionError(SynthbankError):
    """A database URL is malformed, its driver is missing, or the server cannot be reached."""


class SchemaError(SynthbankError):
    """A schema is invalid: no tables, an unknown table or column, a bad type, a malformed schema file."""


class TargetNotEmptyError(SynthbankError):
    """The target database already holds tables that would be overwritten."""


class TextModelError(SynthbankError):
    """A base model or text model cannot be found or used, or text training data is unusable."""
