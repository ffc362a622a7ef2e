"""Slow: every ```python block of the README runs, in order, in one namespace, after `synthbank demo-db bank.db`
(at a small size). The docs pages' blocks run in tests/test_docs_site.py."""

import os
import re
from pathlib import Path

import pytest

from synthbank.demo_bank import write_demo_bank

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README shows no Python"
    monkeypatch.chdir(tmp_path)
    write_demo_bank(f"sqlite:///{tmp_path / 'bank.db'}", users=60, seed=0)
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README python block {i + 1}", "exec"), namespace)
        except Exception as error:  # name the block in the failure
            raise AssertionError(f"README python block {i + 1} failed: {error!r}\n{block}") from error
    assert (tmp_path / "synthetic.db").is_file() and (tmp_path / "report" / "report.html").is_file()
    assert os.path.isdir(tmp_path / "models" / "bank") and (tmp_path / "report" / "report.json").is_file()
