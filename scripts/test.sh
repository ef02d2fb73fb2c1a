#!/usr/bin/env bash
# Install everything the tests need (Debian: postgresql, chromium; Python: .[test] and the
# example plugin) and run the whole test suite. Extra arguments go to pytest.
# The tests get their own environment, ./.venv-test: the product's ./.venv (scripts/run.sh)
# stays as the product installs it (no test packages, no example plugin).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# a CJK font so that Chinese text is legible in the browser tests' screenshots
ls /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc >/dev/null 2>&1 || need+=(fonts-wqy-zenhei)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # wait (up to 10 min) for another apt/dpkg, e.g. unattended upgrades, instead of failing
  APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  echo "test.sh: installing ${need[*]} (apt-get)"
  $SUDO "${APT[@]}" update || { echo "test.sh: apt-get update failed (see above)" >&2; exit 1; }
  $SUDO "${APT[@]}" install -y "${need[@]}" \
    || { echo "test.sh: apt-get install ${need[*]} failed (see above)" >&2; exit 1; }
fi
PY=${PYTHON:-python3}
VENV=.venv-test
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/pip" install --quiet -e ".[test]" -e examples/coovox-push-events
mkdir -p test-artifacts
export COOVOX_TEST_ARTIFACTS="$PWD/test-artifacts"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
