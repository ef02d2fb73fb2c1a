"""``coovox run``: the web application and the ARI connection in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable

from aiohttp import web

from coovox.cli import CommandError
from coovox.context import Coovox
from coovox.web.app import create_app

log = logging.getLogger(__name__)


PORT_SETTING = "web_port (COOVOX_WEB_PORT)"


async def start(coovox: Coovox, *, host: str | None = None, port: int | None = None,
                port_setting: str = PORT_SETTING) -> web.AppRunner:
    """Open the database, start plugins and the web server; return the runner.

    A port that cannot be used raises :class:`WebPortError` (one line naming the port
    and ``port_setting``, the setting that changes it)."""
    await coovox.open()
    try:
        app = create_app(coovox)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        host = host or coovox.config.web_host
        port = coovox.config.web_port if port is None else port
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise WebPortError(_listen_problem(host, port, exc, port_setting)) from None
    except BaseException:
        await coovox.close()
        raise
    settle_memory()
    return runner


def _listen_problem(host: str, port: int, exc: OSError, setting: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        why = "is already in use (is CooVox already running?)"
    elif exc.errno == errno.EACCES:
        why = "may not be used by this user (ports below 1024 need root)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "is not an address of this machine (web_host)"
    else:
        why = f"cannot be used: {exc.strerror or exc}"
    return f"the web port {port} on {host} {why}; choose another port with {setting}"


def settle_memory() -> None:
    """Keep the garbage collector's full passes short while calls run.

    Everything loaded at start (modules, templates, the ORM's metadata: several hundred
    thousand objects) lives as long as the process; :func:`gc.freeze` moves it out of the
    collector's sight, so a full collection walks only what calls created (with 1,000
    metered calls: 25-80 ms per full collection before, 6 ms after; BENCHMARKS.md).
    """
    gc.collect()
    gc.freeze()
    trim_heap()


def trim_heap() -> None:
    """Give the heap pages freed at start back to the system (glibc's ``malloc_trim``; a
    few MB; nothing on other C libraries)."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class WebPortError(CommandError):
    """The web server cannot listen; the message names the address and the setting."""


def command_name(argv0: str | None = None) -> str:
    """How the user can run ``coovox`` again from here: ``coovox`` when that is what runs
    on the PATH, else the path it was started by (``.venv/bin/coovox``), or
    ``<python> -m coovox``."""
    argv0 = sys.argv[0] if argv0 is None and sys.argv else (argv0 or "")
    base = os.path.basename(argv0)
    if base in ("__main__.py", "-m", "-c", "") or base.endswith(".py"):
        return f"{_short(sys.executable)} -m coovox"
    found = shutil.which(base)
    if found and os.path.exists(argv0) and os.path.samefile(found, argv0):
        return base
    return _short(argv0)


def _short(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def no_admin_line() -> str:
    return (f"no administrator yet: run `{command_name()} admin create admin` "
            "to create one")


class _HeldLogs(logging.Filter):
    """Keeps log records off the console while a password is typed; replays them after."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[logging.Handler, logging.LogRecord]] = []
        self.handler: logging.Handler | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        assert self.handler is not None
        self.records.append((self.handler, record))
        return False


@contextlib.contextmanager
def console_logs_held():
    """While prompting on the terminal, log lines (ARI retries, ...) wait and follow the
    prompt instead of being printed into it."""
    held: list[tuple[logging.Handler, _HeldLogs]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler):
            f = _HeldLogs()
            f.handler = handler
            handler.addFilter(f)
            held.append((handler, f))
    try:
        yield
    finally:
        for handler, f in held:
            handler.removeFilter(f)
        for handler, f in held:
            for _, record in f.records:
                handler.handle(record)


async def first_admin(isatty: Callable[[], bool] = lambda: sys.stdin.isatty(),
                      ask: Callable[[str], str] | None = None) -> str:
    """With no user yet: ask for the first admin's password on a TTY, else log one line
    naming the command that creates one.

    Returns what happened: ``"exists"``, ``"created"`` or ``"missing"``.
    """
    from coovox.users import UserError, create_user, has_users

    if await has_users():
        return "exists"
    if not isatty():
        log.warning("%s (no terminal to ask for its password)", no_admin_line())
        return "missing"
    if ask is None:
        import getpass

        ask = getpass.getpass
    with console_logs_held():
        print("No administrator yet: choose the password of the first administrator "
              "'admin' (Ctrl-D to skip).", file=sys.stderr, flush=True)
        while True:
            first = await _in_thread(ask, "Password of the first administrator 'admin': ")
            again = await _in_thread(ask, "Again: ")
            if first != again:
                print("the two passwords differ; try again", file=sys.stderr)
                continue
            try:
                await create_user("admin", first)
            except UserError as exc:
                print(f"{exc}; try again", file=sys.stderr)
                continue
            break
    log.info("administrator admin created")
    return "created"


async def _in_thread(ask: Callable[[str], str], prompt: str) -> str:
    """``ask(prompt)`` in a daemon thread: a stop while it waits for the keyboard does
    not wait for a key (the default executor would, at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def run() -> None:
        try:
            result = ask(prompt)
        except BaseException as exc:  # noqa: BLE001 - handed over to the loop
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name="first-admin-prompt", daemon=True).start()
    return await future


def _settle(future: asyncio.Future, result: str | None, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


@contextlib.contextmanager
def _terminal_restored():
    """Give the terminal back as it was (echo on) if a prompt is abandoned by a stop."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except Exception:  # not a terminal, or no termios
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def ask_first_admin(stop: asyncio.Event | None = None) -> None:
    """:func:`first_admin`; a skipped prompt (Ctrl-D) logs how to create one; a stop
    (Ctrl-C, SIGTERM) while it waits for the password ends the wait."""
    with _terminal_restored():
        task = asyncio.ensure_future(first_admin())
        waits = {task}
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if stopper is not None:
            waits.add(stopper)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopper is not None:
                stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            print(file=sys.stderr)
            return
        try:
            task.result()
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            log.warning(no_admin_line())


async def serve(coovox: Coovox) -> None:
    """Run until SIGINT/SIGTERM, then stop cleanly (in-flight requests and writes finish)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    runner = await start(coovox)
    cfg = coovox.config
    log.info("CooVox web UI on http://%s:%s/ (ARI %s, app %s)", cfg.web_host, cfg.web_port,
             cfg.ari_url, cfg.ari_app)
    try:
        await ask_first_admin(stop)
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
        await coovox.close()
