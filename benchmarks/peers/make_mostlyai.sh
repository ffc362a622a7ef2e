#!/usr/bin/env bash
# Peer virtualenv with the MOSTLY AI SDK 6.2.x in local mode (TabularARGN on CPU, offline).
# Idempotent: re-running checks the venv and installs only what is missing.
#   bash benchmarks/peers/make_mostlyai.sh        # -> build/peers/mostlyai (build/ is ignored by git)
#   PEERS_DIR=/elsewhere bash benchmarks/peers/make_mostlyai.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS_DIR=${PEERS_DIR:-build/peers}
VENV="$PEERS_DIR/mostlyai"
PY=${PYTHON:-python3}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'PYEOF' 2>/dev/null
import importlib.metadata as m, importlib.util as u
assert m.version("mostlyai").startswith("6.2.")
assert u.find_spec("torchvision") is None
import mostlyai.engine, pyarrow  # noqa: F401
PYEOF
then
  echo "$VENV: mostlyai 6.2 already installed"; exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# 1. torch first, pinned: 2.13.0 is the CPU wheel on disk; anything else pulls a multi-GB CUDA build.
$PIP install -q torch==2.13.0
# 2. The SDK with its local engine.
$PIP install -q "mostlyai[local]>=6.2,<6.3" pyarrow
# 3. PyPI's torchvision (pulled in by the local extra) breaks beside the CPU torch; TabularARGN does not need it.
$PIP uninstall -q -y torchvision || true
"$VENV/bin/python" -c "import importlib.metadata as m, torch; print('$VENV: mostlyai', m.version('mostlyai'), '| torch', torch.__version__)"
