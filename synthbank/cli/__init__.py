"""The ``synthbank`` command line. It only parses arguments and calls the Python API.

One module per part: ``parser`` (the commands and their options), ``options`` (arguments → the API's
values), ``console`` (progress), ``output`` (what is printed), and one module per family of commands
(``schema``, ``clone``, ``evaluate``, ``complaints``). This package's ``main`` runs a command and turns
every error into one sentence.

Every command mirrors a function or method of the API; errors the user can fix arrive as
:class:`~synthbank.errors.SynthbankError` and are printed as one sentence with exit code 1.
"""

from __future__ import annotations

import logging
import re
import sys

from synthbank.cli.console import err_console
from synthbank.cli.options import settings_from_args as _settings_from_args  # noqa: F401 - the names cli.py had
from synthbank.cli.options import text_settings as _text_settings  # noqa: F401
from synthbank.cli.parser import build_parser, versions
from synthbank.errors import SynthbankError

__all__ = ["API_TO_FLAG", "build_parser", "in_cli_terms", "main", "versions"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from synthbank.quiet import quiet_libraries

    quiet_libraries(verbose=args.verbose)  # no third-party warnings or progress bars unless -v
    try:
        args.func(args)
    except SynthbankError as exc:
        _print_error(str(exc), argv)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except OSError as exc:  # a file or folder that cannot be read or written
        where = f" '{exc.filename}'" if exc.filename else ""
        _print_error(f"{exc.strerror or exc.__class__.__name__}{where}.", argv)
        return 1
    except Exception as exc:  # a bug: one sentence (the traceback with --verbose), never a password
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _print_error(f"unexpected {exc.__class__.__name__}{': ' + first if first else ''} — this is a bug in synthbank"
                     f"{'' if args.verbose else '; run with --verbose for the traceback'}.", argv)
        if args.verbose:
            import traceback

            err_console.print(_hide_passwords(traceback.format_exc(), argv), markup=False, highlight=False)
        return 1
    return 0


def _hide_passwords(text: str, argv: list[str]) -> str:
    """``text`` with URL passwords masked, and any password given on the command line hidden wherever it appears."""
    from synthbank.database import mask_passwords, url_passwords

    text = mask_passwords(text)
    for password in sorted({p for arg in argv for p in url_passwords(arg)}, key=len, reverse=True):
        text = text.replace(password, "***")
    return text


#: The library's errors name API arguments; the CLI says the option that sets each.
API_TO_FLAG = [("replace=True", "--replace"), ("strict=True", "--strict"), ("schema=", "--schema"),
               ("table=", "--table"), ("n=", "--n"), ("context_from=", "--context-from"), ("where=", "--where"),
               ("out=", "--out"), ("base_model=", "--text-model"), ("sample_rows", "--sample-rows")]


def in_cli_terms(message: str) -> str:
    """``message`` with each API argument it names (``replace=True``) replaced by its option (``--replace``)."""
    for api, flag in API_TO_FLAG:
        message = re.sub(rf"(?<![\w.-]){re.escape(api)}", flag, message)
    return message


def _print_error(message: str, argv: list[str]) -> None:
    """One line on stderr; the message is printed as plain text (a '[' in it is not rich markup)."""
    err_console.print("error: " + _hide_passwords(in_cli_terms(message), argv), style="bold red", markup=False,
                      highlight=False, soft_wrap=True)
