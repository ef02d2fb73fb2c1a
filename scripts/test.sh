#!/usr/bin/env bash
# Install everything the tests need (Debian: postgresql, chromium, sip-tester; Python: .[test]
# and the example plugin; the Asterisk kit of ../shared/asterisk) and run the whole test
# suite. Extra arguments go to pytest.
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
  APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
  $SUDO "${APT[@]}" update -qq
  $SUDO "${APT[@]}" install -y -qq "${need[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install --quiet -e ".[test]" -e examples/coovox-push-events
# Asterisk 22 for tests/real, built once from ../shared/asterisk (cached; progress on
# stderr). A failed build stops here; COOVOX_SKIP_REAL_ASTERISK=1 skips it and those tests,
# COOVOX_ASTERISK_PREFIX names an Asterisk already installed.
if [ $real_asterisk = yes ] && [ -z "${COOVOX_ASTERISK_PREFIX:-}" ]; then
  bash ../shared/asterisk/build.sh >/dev/null
fi
mkdir -p test-artifacts
export COOVOX_TEST_ARTIFACTS="$PWD/test-artifacts"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
