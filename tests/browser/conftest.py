"""Real-browser fixtures: the real app (`coovox run`) on 127.0.0.1 and Debian's Chromium
driven by Playwright; a screenshot of every page visited goes to
``$COOVOX_TEST_ARTIFACTS/screenshots/`` (default ``./test-artifacts/screenshots``).
The harness (Server, Browser) is in tests/support/browser.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    Browser,
    serving,
)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    root = Path(os.environ.get("COOVOX_TEST_ARTIFACTS", "test-artifacts"))
    shots = root / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, artifacts):
    with serving(tmp_path_factory, artifacts, "coovox-browser") as srv:
        yield srv


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory, server):
    """One Chromium (fresh user-data-dir) for the module; cookies cleared per test."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    downloads = tmp_path_factory.mktemp("downloads")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            accept_downloads=True, downloads_path=str(downloads), locale="en-US",
            viewport={"width": 1280, "height": 860})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(browser_context, server, artifacts, request):
    browser_context.clear_cookies()
    return Browser(browser_context, server.url, artifacts / "screenshots", request.node.name)
