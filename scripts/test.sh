#!/usr/bin/env bash
# Runs the linter (ruff) and the test suite (the fast default set; add `-m slow` or `-m ""` for the long tests).
set -uo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The linter first (rules in pyproject.toml): a finding fails the run like a failing test.
.venv/bin/python -m ruff check synthbank tests benchmarks docs || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing." >&2
  exit 1
fi
exit "$status"
