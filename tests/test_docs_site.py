"""The documentation site (docs/, mkdocs.yml) builds with `mkdocs build --strict`: no broken link, anchor or API
reference; the generated CLI page holds every command and option of the parser; the README's links into docs/ resolve.
Slow: every ```python block of the docs pages runs (a block after `<!-- docs-test: skip (reason) -->` is left out:
it needs a server synthbank does not start, such as PostgreSQL, a Ray cluster, Airflow or Dagster)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthbank.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
SKIP = re.compile(r"<!-- docs-test: skip \(([^)]+)\) -->\s*\n```python\n")
BLOCK = re.compile(r"(<!-- docs-test: skip \([^)]+\) -->\s*\n)?```python\n(.*?)```", flags=re.DOTALL)
QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_gen_files"):
        pytest.importorskip(module, reason="the docs tools: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, env={**os.environ, **QUIET})
    log = build.stdout + build.stderr
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    assert not re.search(r"^(WARNING|ERROR)\b", log, flags=re.MULTILINE), log[-6000:]
    return out


def html_text(path: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text()))


def commands(parser: argparse.ArgumentParser, prefix: str = "synthbank"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from commands(sub, f"{prefix} {name}")


def test_the_site_builds_strictly_with_every_page(site):
    for page in PAGES:
        built = site / page.relative_to(DOCS).with_suffix("") / "index.html"
        if page.name == "index.md":
            built = site / page.relative_to(DOCS).parent / "index.html"
        assert built.is_file(), f"{page.relative_to(ROOT)} was not built"
    assert (site / "reference" / "cli" / "index.html").is_file(), "the generated CLI page is missing"
    assert not list(site.rglob("*.py")), "a build script was copied into the site"


def test_the_cli_page_holds_every_command_argument_and_default(site):
    page = (site / "reference" / "cli" / "index.html").read_text()
    text = html_text(site / "reference" / "cli" / "index.html")
    for command, parser in commands(build_parser()):
        assert f'id="{command.replace(" ", "-")}"' in page, f"no section for `{command}`"
        for action in parser._actions:
            if action.dest == "help" or isinstance(action, argparse._SubParsersAction):
                continue
            name = action.option_strings[0] if action.option_strings else (action.metavar or action.dest)
            assert name in text, f"`{command} {name}` is not on the CLI page"
            if action.option_strings and action.nargs != 0 and action.default not in (None, argparse.SUPPRESS, []):
                assert str(action.default) in text, f"the default of `{command} {name}` is not on the CLI page"


def test_the_api_reference_is_rendered(site):
    api = html_text(site / "reference" / "python-api" / "index.html")
    for name in ("synthbank.DatabaseSynthesizer", "synthbank.schemas.DatabaseSchema", "synthbank.evaluation.evaluate",
                 "TextSynthesizer", "RayExecutor", "SynthbankError"):
        assert name in api, f"{name} is not on the API page"
    assert "def fit" not in api and "sample_to_url" in api, "methods should be rendered as documentation"
    settings = html_text(site / "reference" / "settings" / "index.html")
    for name in ("RelationalSettings", "TextSettings", "TrainingSettings", "rare_threshold", "dp_epsilon"):
        assert name in settings, f"{name} is not on the settings page"


def test_the_pages_use_no_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, f"{page} loads Google Fonts"


def test_readme_links_into_the_docs_resolve(site):
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs/)[^)#\s]+)(#[^)\s]+)?\)", readme)
    assert len(links) >= 20, "the README should link into the docs"
    for target, anchor in links:
        path = ROOT / target
        assert path.is_file(), f"the README links to {target}, which does not exist"
        if anchor and target.endswith(".md"):
            relative = Path(target).relative_to("docs").with_suffix("")
            built = site / (relative.parent if relative.name == "index" else relative) / "index.html"
            assert f'id="{anchor[1:]}"' in built.read_text(), f"the README links to {target}{anchor}: no such heading"
    for anchor in re.findall(r"\]\((#[^)\s]+)\)", readme):
        slugs = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in re.findall(r"^#+ (.+)$", readme, re.M)}
        assert anchor[1:] in slugs, f"the README links to {anchor}: no such heading"


def test_skipped_blocks_say_why_and_are_few():
    skipped = {page.relative_to(DOCS).as_posix(): SKIP.findall(page.read_text()) for page in PAGES}
    reasons = [reason for found in skipped.values() for reason in found]
    assert all(re.search(r"^needs .*(PostgreSQL|Ray|Airflow)", r) for r in reasons), reasons
    assert len(reasons) <= 4, skipped


def python_pages():
    return [page for page in PAGES if any(not skip for skip, _ in BLOCK.findall(page.read_text()))]


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> Path:
    """bank.db (the demo bank at a small size) and synthetic.db (a tables-only clone of it), which the pages assume."""
    from synthbank import DatabaseSynthesizer
    from synthbank.demo_bank import write_demo_bank

    folder = tmp_path_factory.mktemp("databases")
    write_demo_bank(f"sqlite:///{folder / 'bank.db'}", users=60, seed=0)
    DatabaseSynthesizer.from_url(f"sqlite:///{folder / 'bank.db'}", text=False).fit().sample_to_url(
        f"sqlite:///{folder / 'synthetic.db'}", seed=0)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("page", python_pages(), ids=lambda page: page.relative_to(DOCS).as_posix())
def test_the_python_blocks_of_a_page_run(page, databases, tmp_path, monkeypatch):
    for name in ("bank.db", "synthetic.db"):
        shutil.copy(databases / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    blocks = [block for skip, block in BLOCK.findall(page.read_text()) if not skip]
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page.relative_to(DOCS)} python block {i + 1}", "exec"), namespace)
        except Exception as error:  # name the page and the block in the failure
            raise AssertionError(f"{page.relative_to(DOCS)}, python block {i + 1} failed: {error!r}\n{block}") from error
