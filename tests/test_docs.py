"""Every command and option of the CLI has help, every command is shown in the hand-written documentation (docs/:
the tutorials and guides, not only the reference generated from the parser), and the library's errors name API
arguments that the CLI turns into its options."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from synthbank.cli import API_TO_FLAG, build_parser, in_cli_terms

ROOT = Path(__file__).resolve().parents[1]
# The hand-written pages; reference/cli.md is generated at build time and never lies in docs/.
DOCS = "\n".join(page.read_text() for page in sorted((ROOT / "docs").rglob("*.md")))


def commands(parser: argparse.ArgumentParser, prefix: str = "synthbank"):
    """``(full command, its parser, its help)`` for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub, helps.get(name)
                yield from commands(sub, f"{prefix} {name}")


COMMANDS = list(commands(build_parser()))


def test_there_are_commands():
    assert {c for c, _, _ in COMMANDS} >= {"synthbank demo", "synthbank clone", "synthbank fit", "synthbank sample",
                                           "synthbank evaluate", "synthbank complaints train", "synthbank complaints generate"}


@pytest.mark.parametrize("command, parser, help_text", COMMANDS, ids=[c for c, _, _ in COMMANDS])
def test_every_command_has_help_and_a_docs_entry(command, parser, help_text):
    assert help_text and len(help_text) > 10, command
    assert f"`{command}" in DOCS or f"{command} " in DOCS, f"the docs never show `{command}`"
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings[0]} has no help"


def test_every_option_of_clone_is_in_the_docs():
    clone = dict((c, p) for c, p, _ in COMMANDS)["synthbank clone"]
    for action in clone._actions:
        flag = next((o for o in action.option_strings if o.startswith("--")), None)
        if flag and flag != "--help":
            assert flag in DOCS, f"`synthbank clone {flag}` is not documented in docs/"


def test_the_docs_pages_are_there():
    assert not (ROOT / "docs" / "reference" / "cli.md").exists(), "the CLI page is generated at build time (docs/gen_cli.py)"
    assert len(DOCS) > 100_000, "the documentation pages are missing"


def test_api_arguments_in_errors_become_options():
    assert in_cli_terms("The target already has the table(s) users; use replace=True to overwrite them.") \
        == "The target already has the table(s) users; use --replace to overwrite them."
    assert in_cli_terms("Give the number of texts (n=) or context rows (context_from=).") \
        == "Give the number of texts (--n) or context rows (--context-from)."
    assert in_cli_terms("column=3 and sdtype= stay as they are") == "column=3 and sdtype= stay as they are"
    assert all(flag.startswith("--") for _, flag in API_TO_FLAG)
    assert not re.search(r"(?<![\w.-])--[a-z]", "use replace=True")
