#!/usr/bin/env bash
# Peer virtualenv with SDV 1.37.4, the last SDV whose HMASynthesizer accepts a depth-3 chain (it only warns).
# Idempotent: re-running checks the venv and installs only what is missing.
#   bash benchmarks/peers/make_sdv137.sh          # -> build/peers/sdv137 (build/ is ignored by git)
#   PEERS_DIR=/elsewhere bash benchmarks/peers/make_sdv137.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS_DIR=${PEERS_DIR:-build/peers}
VENV="$PEERS_DIR/sdv137"
PY=${PYTHON:-python3}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'PYEOF' 2>/dev/null
import importlib.metadata as m, pyarrow  # noqa: F401
assert m.version("sdv") == "1.37.4"
PYEOF
then
  echo "$VENV: sdv 1.37.4 already installed"; exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# SDV requires ctgan and deepecho, which require torch: install the CPU wheel on disk first (pinned), or pip
# would pull a multi-GB CUDA build.
$PIP install -q torch==2.13.0
$PIP install -q "sdv==1.37.4" pyarrow
"$VENV/bin/python" -c "import sdv, torch; print('$VENV: sdv', sdv.__version__, '| torch', torch.__version__)"
