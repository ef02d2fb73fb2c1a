#!/usr/bin/env bash
# Install everything the tests need (Debian: postgresql, chromium, sip-tester; Python: .[test]
# and the example plugin; the Asterisk kit of ../shared/asterisk) and run the whole test
# suite. Extra arguments go to pytest.
# The tests get their own environment, ./.venv-test: the product's ./.venv (scripts/run.sh)
# stays as the product installs it (no test packages, no example plugin).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# a CJK font so that Chinese text is legible in the browser tests' screenshots
ls /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc >/dev/null 2>&1 || need+=(fonts-wqy-zenhei)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# SIPp plays the phones and the carrier of the tests against a real Asterisk (tests/real)
real_asterisk=yes
[ "${COOVOX_SKIP_REAL_ASTERISK:-}" = 1 ] && real_asterisk=no
[ $real_asterisk = no ] || command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
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
"$VENV/bin/pip" install --quiet -e ".[test]" -e examples/coovox-push-events \
  -e examples/coovox-prometheus -e examples/coovox-low-balance
# Asterisk 22 for tests/real, built once from ../shared/asterisk (cached; progress on
# stderr). A failed build stops here; COOVOX_SKIP_REAL_ASTERISK=1 skips it and those tests,
# COOVOX_ASTERISK_PREFIX names an Asterisk already installed.
if [ $real_asterisk = yes ] && [ -z "${COOVOX_ASTERISK_PREFIX:-}" ]; then
  bash ../shared/asterisk/build.sh >/dev/null \
    || { echo "test.sh: building Asterisk from ../shared/asterisk failed (see above)" >&2; exit 1; }
fi
mkdir -p test-artifacts
export COOVOX_TEST_ARTIFACTS="$PWD/test-artifacts"
# Several pytest workers (pytest-xdist), a test module kept whole on one worker (its module-wide
# Asterisk, PostgreSQL database or browser); COOVOX_TEST_WORKERS=0 runs in this process
# only, N runs N workers (default: the CPUs, at most 4). Arguments given here win.
cpus=$(nproc 2>/dev/null || echo 2)
workers=${COOVOX_TEST_WORKERS:-$(( cpus < 4 ? cpus : 4 ))}
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -n "$workers" --dist loadfile "$@"
