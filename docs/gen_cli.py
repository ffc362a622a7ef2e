"""Writes reference/cli.md at build time from synthbank's own argparse parser (mkdocs-gen-files runs this script),
so the CLI reference never drifts from the code: every command, argument, default and help."""

from __future__ import annotations

import argparse

import mkdocs_gen_files

from synthbank.cli import build_parser

INTRO = """# The `synthbank` command

This page is generated from the command's own parser (`synthbank.cli.build_parser`) each time the site is
built: every command, every argument, its default and its help, exactly as `synthbank COMMAND --help`
prints them. Bad input is one sentence on stderr with exit code 1 (argument errors: exit code 2), never a
traceback; see [Errors](errors.md). The tutorials show the commands at work:
[clone a database](../tutorials/clone-postgresql.md), [files](../tutorials/files.md),
[rebalancing](../tutorials/rebalance.md), [a Ray cluster](../tutorials/ray-cluster.md),
[complaint corpora](../tutorials/complaint-corpus.md).
"""


def escape(text: str) -> str:
    """Markdown-safe text for a table cell."""
    for char in "\\`*_<>|[]":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def commands(parser: argparse.ArgumentParser, prefix: str = "synthbank"):
    """``(full command, its parser, its one-line help)`` for every command and subcommand, in the parser's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub, helps.get(name) or ""
                yield from commands(sub, f"{prefix} {name}")


def argument_name(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{option}`" for option in action.option_strings)
    if action.nargs == 0:
        return names
    metavar = action.metavar or (action.dest.upper() if not action.choices else "{" + ",".join(map(str, action.choices)) + "}")
    return f"{names} `{metavar}`"


def default_of(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.default == []:
        return ""
    return f"`{action.default}`"


def help_of(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = parser._get_formatter()._expand_help(action) if action.help else ""
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        text += f" (one of: {', '.join(map(str, action.choices))})"
    return escape(text)


def command_markdown(command: str, parser: argparse.ArgumentParser, summary: str) -> str:
    lines = [f"## `{command}`", ""]
    if summary:
        lines += [escape(summary), ""]
    if parser.description and parser.description != summary:
        lines += [escape(parser.description), ""]
    lines += ["```text", parser.format_usage().strip(), "```", ""]
    rows = [action for action in parser._actions
            if action.dest != "help" and not isinstance(action, argparse._SubParsersAction)]
    if rows:
        lines += ["| argument | default | meaning |", "|---|---|---|"]
        lines += [f"| {argument_name(a)} | {default_of(a)} | {help_of(parser, a)} |" for a in rows]
        lines.append("")
    if parser.epilog:
        lines += [escape(parser.epilog), ""]
    return "\n".join(lines)


def cli_markdown() -> str:
    parser = build_parser()
    parts = [INTRO, "| command | what it does |", "|---|---|"]
    found = list(commands(parser))
    parts += [f"| [`{c}`](#{c.replace(' ', '-')}) | {escape(s)} |" for c, _, s in found]
    parts.append("")
    parts += [command_markdown(c, p, s) for c, p, s in found]
    return "\n".join(parts)


with mkdocs_gen_files.open("reference/cli.md", "w") as page:
    page.write(cli_markdown())
