"""`synthbank demo --quick`: the whole job end to end on the demo bank, as a new user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa


def test_quick_demo_end_to_end(tmp_path):
    """--quick with its own defaults (no smaller size chosen to avoid a crash: --users 60 once hid one)."""
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "demo", "--quick", "--dir", str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=900,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(Path.home())})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("Rows", "quality (SDMetrics)", "MAUVE complaints.narrative", "PII leaks", "utility loans.is_default",
                     "Seconds per step", "report.html"):
        assert expected in out, (expected, out)
    for step in ("writing the demo bank", "learning tables and narratives", "sampling the synthetic bank", "evaluating"):
        assert step in result.stdout + result.stderr
    directory = tmp_path / "d"
    report = json.loads((directory / "report" / "report.json").read_text())
    summary, leaks = report["summary"], report["privacy"]["pii_leaks"]
    assert summary["integrity_ok"] and summary["dcr_share"] is not None
    # no real person's data anywhere, and no rare real category in any cell or string; a generated narrative
    # may use words that are also a rare category label (e.g. "credit card debt"): counted apart, as texts
    assert leaks["by_source"].get("pii", 0) == 0 and leaks["by_source"].get("names", 0) == 0, leaks
    assert leaks["cells"] == 0 and leaks["inside_strings"] == 0, leaks
    engine = sa.create_engine(f"sqlite:///{directory / 'synthetic.db'}")
    with engine.connect() as connection:
        narratives = connection.execute(sa.text("SELECT COUNT(*) FROM complaints WHERE narrative <> ''")).scalar_one()
    engine.dispose()
    assert narratives > 0
    assert (directory / "bank.db").is_file() and (directory / "holdout.db").is_file()


def test_demo_bad_option(tmp_path):
    (tmp_path / "file").write_text("x")
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "demo", "--dir", str(tmp_path / "file")],
                            capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert result.returncode == 1 and "is not a directory" in result.stderr and "Traceback" not in result.stderr
