"""Real-browser harness: the real app (``coovox run``) on 127.0.0.1 in a subprocess and a
Chromium page with helpers that screenshot every page visited (fixtures in
tests/browser/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ADMIN_PASSWORD = "Admin-pass-1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TIMEOUT_MS = 15_000


def need_browser() -> None:
    """Skip (fail in CI) when Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright package is not installed (pip install -e .[test])")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")


def missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def coovox_cmd() -> list[str]:
    return [sys.executable, "-m", "coovox"]


SERVE_CMD = [sys.executable, "-m", "tests.browser.serve"]
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``coovox run`` in a subprocess with its own data folder; stops with the fixture."""

    def __init__(self, data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
        self.env = dict(inherited, COOVOX_DATA_DIR=str(data_dir), COOVOX_WEB_HOST="127.0.0.1",
                        COOVOX_WEB_PORT=str(self.port), COOVOX_ARI_URL="http://127.0.0.1:9",
                        FIRST_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.env.update(extra_env or {})
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run([*coovox_cmd(), *args], env=self.env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(SERVE_CMD, env=self.env, stdout=log, cwd=str(ROOT),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("coovox run exited:\n" + self.log_path.read_text())
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status in (200, 503):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("coovox run did not answer in 30 s:\n" + self.log_path.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@contextlib.contextmanager
def serving(tmp_path_factory, artifacts: Path, name: str, *,
            seed: Callable[[Path], Awaitable[None]] | None = None,
            env: dict[str, str] | None = None) -> Iterator[Server]:
    """``coovox run`` on a fresh data folder (``await seed(data_dir)`` first), stopped after;
    skips when there is no browser (for a module-scoped ``server`` fixture)."""
    need_browser()
    folder = tmp_path_factory.mktemp(name)
    if seed is not None:
        asyncio.run(seed(folder / "data"))
    srv = Server(folder / "data", artifacts / f"server-{folder.name}.log", env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@contextlib.asynccontextmanager
async def seeding(data_dir: Path, **config):
    """The app opened on ``data_dir`` (migrated, nothing started) to seed it; closed after."""
    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost

    app = Coovox(config=load_config(environ={}, data_dir=str(data_dir), **config),
                 plugins=PluginHost())
    await app.open(startup=False)
    try:
        yield app
    finally:
        await app.close()


class Browser:
    """A page plus helpers: go to a path, sign in/out, screenshot every page."""

    def __init__(self, context, base_url: str, shots: Path, prefix: str):
        self.context = context
        self.page = context.pages[0] if context.pages else context.new_page()
        self.base = base_url
        self.shots = shots
        self.prefix = prefix
        self.count = 0
        for old in shots.glob(f"{prefix}-*.png"):  # screenshots of an earlier run
            old.unlink()

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path: str, name: str | None = None):
        resp = self.page.goto(self.base + path)
        assert resp is not None and resp.status < 400, f"{path}: {resp and resp.status}"
        self.shot(name or path.strip("/").replace("/", "-") or "home")
        return resp

    def submit(self, selector: str) -> None:
        """Click what submits a form and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.locator(selector).click()

    def use_language(self, code: str) -> None:
        """Read the next pages in language ``code`` (the ``lang`` cookie the menu sets)."""
        host = self.base.split("//", 1)[1].split(":")[0]
        self.context.add_cookies([{"name": "lang", "value": code, "domain": host,
                                   "path": "/"}])

    def console_errors(self) -> list[str]:
        """The page's console errors from now on (the list fills as they come)."""
        errors: list[str] = []
        self.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return errors

    def choose_language(self, code: str) -> None:
        with self.page.expect_navigation():
            self.page.select_option("select[name=lang]", code)

    def sign_in(self, username: str, password: str) -> None:
        self.context.clear_cookies()
        self.goto("/sign-in", "sign-in")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.submit("#sign-in-form button[type=submit]")
        assert self.page.locator("#current-user").inner_text() == username
        self.shot(f"signed-in-{username}")

    def sign_out(self) -> None:
        self.submit("form[action='/sign-out'] button")
        assert self.page.url.endswith("/sign-in")
