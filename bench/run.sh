#!/usr/bin/env bash
# Reproduce every benchmark figure: bash bench/run.sh [--quick] [--only admission cps ...]
# (--only choices: admission cps concurrency profile callcost rest reports real decks interference ariclient pgnodes memory)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in .venv/bin/python ../venv/bin/python python3; do
    if [ -x "$cand" ] || command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
"$PY" -c "import pyinstrument" 2>/dev/null || "$PY" -m pip install -q pyinstrument
# aioari is measured by --only ariclient (not a dependency of the product: pyproject [bench])
"$PY" -c "import aioari" 2>/dev/null || "$PY" -m pip install -q 'aioari==0.10.2'
exec "$PY" -m bench "$@"
