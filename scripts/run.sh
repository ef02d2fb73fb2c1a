#!/usr/bin/env bash
# Install CooVox into ./.venv and run it on the embedded default (SQLite in ./coovox-data).
# Extra arguments go to `coovox run` (e.g. --config FILE). Set COOVOX_* to configure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install --quiet -e .
exec .venv/bin/coovox "$@" run
