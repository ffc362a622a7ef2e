"""`synthbank demo --quick`: the whole job end to end on the demo bank, as a new user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa


def test_quick_demo_end_to_end(tmp_path):
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "demo", "--quick", "--users", "60", "--dir", str(tmp_path / "d")],
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
    summary = json.loads((directory / "report" / "report.json").read_text())["summary"]
    assert summary["integrity_ok"] and summary["pii_leaks"] == 0 and summary["dcr_share"] is not None
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
