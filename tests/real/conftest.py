"""Fixtures of the tests against a real Asterisk (marker ``real_asterisk``).

* ``asterisk_kit`` (session): the kit's prefix; builds it once with
  ``../shared/asterisk/build.sh`` (``COOVOX_ASTERISK_PREFIX`` names an installed one).  A
  failing build or a missing ``sipp`` fails the tests; they are skipped only when
  ``COOVOX_SKIP_REAL_ASTERISK=1`` is set.
* ``stack`` (module): one :class:`~tests.real.kit.RealStack` per test module.  A module may
  define ``STACK = {...}`` (keyword arguments of RealStack) and ``async def
  setup_stack(stack)`` (configuration through the API, run once).
* ``real`` (each test): the module's stack with ``real.since`` = the observer's position at
  the test's start; afterwards every SIPp process is stopped and Asterisk must have no
  channel and no bridge left (leftovers are removed, then the test errors).

Tests and these fixtures run on the module's event loop:
``pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.real.kit import KitError, RealStack, asterisk_prefix, skip_requested
from tests.real.kit.asterisk import SKIP_ENV
from tests.real.kit.sipp import sipp_available


@pytest.fixture(scope="session")
def asterisk_kit() -> Path:
    if skip_requested():
        pytest.skip(f"{SKIP_ENV}=1: tests against a real Asterisk skipped")
    if not sipp_available():
        pytest.fail("sipp is not installed (Debian: apt-get install sip-tester; "
                    f"scripts/test.sh installs it); {SKIP_ENV}=1 skips these tests")
    try:
        return asterisk_prefix()
    except KitError as exc:
        pytest.fail(f"the Asterisk kit is not usable: {exc}  ({SKIP_ENV}=1 skips these tests)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(asterisk_kit, tmp_path_factory, request) -> AsyncIterator[RealStack]:
    settings = getattr(request.module, "STACK", {})
    workdir = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    async with RealStack(asterisk_kit, workdir=workdir, keep=True, **settings) as st:
        setup = getattr(request.module, "setup_stack", None)
        if setup is not None:
            await setup(st)
        yield st


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest_asyncio.fixture(loop_scope="module")
async def real(stack, request) -> AsyncIterator[RealStack]:
    stack.since = stack.observer.mark()
    log_start = len(stack.app.log_text())
    yield stack
    failed = request.node.stash.get(CALL_FAILED, False)
    channels, bridges = await stack.after_test(idle_timeout=2 if failed else 10)
    left = (f"channels {[c['name'] for c in channels]}, "
            f"bridges {[b['id'] for b in bridges]}")
    if failed or channels or bridges:
        print("--- CooVox log of the test ---")
        print(stack.app.log_text()[log_start:][-4000:])
        print("--- ARI events of the test ---")
        print(stack.observer.types(stack.since))
        print("--- left in Asterisk (removed) ---")
        print(left)
    if not failed:  # after a failure, leftovers are a consequence: removed, not reported
        assert not channels and not bridges, f"Asterisk still had after the test: {left}"
