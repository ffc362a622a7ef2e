"""Executors: the same output for a seed in this process, in local worker processes and on a real Ray (started
in-process, and a `ray start` cluster joined by address); worker progress reaches the caller; a failing task
stops the run in one sentence with nothing written."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthbank import DatabaseSynthesizer
from synthbank.demo_bank import demo_schema, generate_demo_bank, write_demo_bank
from synthbank.errors import SynthbankError
from synthbank.executors import InProcess, LocalProcesses, RayExecutor, make_executor
from synthbank.relational import synthesizer as relational

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'synthbank[ray]')")


@pytest.fixture(scope="module")
def tables_model():
    return DatabaseSynthesizer(demo_schema(), text=False).fit(generate_demo_bank(users=120, seed=3))


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(relational, "BLOCK_ROWS", 300)  # ~1,400 rows → several blocks, several tasks


def _same(a, b):
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True), b[name].reset_index(drop=True), check_dtype=False)


def test_tables_are_the_same_in_process_in_workers_and_on_ray(tables_model, small_blocks):
    blocks = tables_model.relational_.block_count(1.0)
    assert blocks >= 4
    events = []
    expected = tables_model.sample(seed=11)
    with LocalProcesses(2) as executor:
        _same(expected, tables_model.sample(seed=11, executor=executor, progress=events.append))
    sampling = [e for e in events if e.phase == "sampling"]
    assert [e.done for e in sampling] == list(range(blocks + 1)) and sampling[-1].finished
    with RayExecutor(address="local", num_cpus=2) as executor:
        assert executor.workers == 2
        _same(expected, tables_model.sample(seed=11, executor=executor))
        # the windows fitted as Ray tasks make the same model
        refit = DatabaseSynthesizer(demo_schema(), text=False).fit(generate_demo_bank(users=120, seed=3), executor=executor)
    _same(expected, refit.sample(seed=11))
    assert not ray.is_initialized()  # the executor stops the Ray it started
    assert not tables_model.sample(seed=12)["loans"].equals(expected["loans"])  # and seeds still matter


def test_a_failing_task_writes_nothing(tables_model, small_blocks, monkeypatch, tmp_path):
    original = relational.RelationalSynthesizer.sample_block_rows

    def failing(self, scale, seed, block, blocks, *rest):
        if block == 2:
            raise SynthbankError("block 2 could not be drawn")
        return original(self, scale, seed, block, blocks, *rest)

    monkeypatch.setattr(relational.RelationalSynthesizer, "sample_block_rows", failing)  # forked workers inherit it
    target = tmp_path / "out.db"
    with pytest.raises(SynthbankError, match="block 2 could not be drawn"), LocalProcesses(2) as executor:
        tables_model.sample_to_url(f"sqlite:///{target}", seed=1, executor=executor, chunk_rows=1)
    assert not target.exists()

    def crash(shared, item):
        raise ValueError(f"bad item {item}")

    with RayExecutor(address="local", num_cpus=2) as executor, pytest.raises(SynthbankError) as raised:
        list(executor.map(crash, None, [1, 2]))
    assert str(raised.value) == "A Ray task failed: ValueError: bad item 1"


def test_texts_are_the_same_in_process_in_two_workers_and_on_ray_data():
    # In a fresh process, like any synthbank command (tests/texts_on_executors.py says why not in pytest's).
    script = Path(__file__).with_name("texts_on_executors.py")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    expected = out["in_process"]
    assert sum(t is not None for t in expected["narratives"]) > 64  # more than one chunk of texts
    assert out["in_process_again"] == expected  # deterministic within a process
    for name in ("two_workers", "ray"):
        assert out[name]["rows"] == expected["rows"], f"{name}: the complaint rows differ"
        differing = [i for i, (a, b) in enumerate(zip(out[name]["narratives"], expected["narratives"])) if a != b]
        assert not differing, f"{name}: narratives {differing} differ from in-process"
    assert out["generating"][-1] == ["complaints.narrative", True]  # worker progress reached the caller
    assert out["other_seed"] != expected["narratives"]  # and seeds still matter


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster(tmp_path):
    """A real Ray head started with `ray start` on 127.0.0.1, stopped afterwards."""
    exe = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run([exe, "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
                              "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
                             capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([exe, "stop", "--force"], capture_output=True, env=env, timeout=120)


def test_clone_on_a_ray_cluster_joined_by_address(ray_cluster, tmp_path):
    source = f"sqlite:///{tmp_path / 'bank.db'}"
    write_demo_bank(source, users=80, seed=2)
    cli = [sys.executable, "-m", "synthbank.cli", "clone", source]
    plain = subprocess.run([*cli, f"sqlite:///{tmp_path / 'plain.db'}", "--no-text", "--seed", "5"],
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    on_ray = subprocess.run([*cli, f"sqlite:///{tmp_path / 'ray.db'}", "--no-text", "--seed", "5", "--ray", ray_cluster],
                            capture_output=True, text=True, timeout=300)
    assert on_ray.returncode == 0, on_ray.stderr
    from synthbank.io.reader import read_tables
    from synthbank.schemas import reflect_schema

    schema = reflect_schema(source)
    _same(read_tables(f"sqlite:///{tmp_path / 'plain.db'}", schema), read_tables(f"sqlite:///{tmp_path / 'ray.db'}", schema))


def test_bad_executor_options_are_one_sentence(tmp_path):
    with pytest.raises(SynthbankError, match="not both"):
        make_executor(workers=2, ray="auto")
    with pytest.raises(SynthbankError, match="at least 1"):
        LocalProcesses(0)
    assert isinstance(make_executor(), InProcess) and isinstance(make_executor(workers=1), InProcess)
    source = f"sqlite:///{tmp_path / 'bank.db'}"
    write_demo_bank(source, users=30, seed=2)
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "clone", source, f"sqlite:///{tmp_path / 'x.db'}",
                             "--no-text", "--ray", "127.0.0.1:1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Cannot connect to the Ray cluster at '127.0.0.1:1'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.db").exists()
