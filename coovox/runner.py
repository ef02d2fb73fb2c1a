"""``coovox run``: the web application and the ARI connection in one event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from coovox.context import Coovox
from coovox.web.app import create_app

log = logging.getLogger(__name__)


async def start(coovox: Coovox, *, host: str | None = None,
                port: int | None = None) -> web.AppRunner:
    """Open the database, start plugins and the web server; return the runner."""
    await coovox.open()
    try:
        app = create_app(coovox)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host or coovox.config.web_host,
                           port or coovox.config.web_port)
        await site.start()
    except BaseException:
        await coovox.close()
        raise
    settle_memory()
    return runner


def settle_memory() -> None:
    """Keep the garbage collector's full passes short while calls run.

    Everything loaded at start (modules, templates, the ORM's metadata: several hundred
    thousand objects) lives as long as the process; :func:`gc.freeze` moves it out of the
    collector's sight, so a full collection walks only what calls created (with 1,000
    metered calls: 25-80 ms per full collection before, 6 ms after; BENCHMARKS.md).
    """
    gc.collect()
    gc.freeze()


NO_ADMIN_LINE = "no administrator yet: run `coovox admin create admin`"


async def first_admin(isatty: Callable[[], bool] = lambda: sys.stdin.isatty(),
                      ask: Callable[[str], str] | None = None) -> str:
    """With no user yet: ask for the first admin's password on a TTY, else log one line.

    Returns what happened: ``"exists"``, ``"created"`` or ``"missing"``.
    """
    from coovox.users import UserError, create_user, has_users

    if await has_users():
        return "exists"
    if not isatty():
        log.warning(NO_ADMIN_LINE)
        return "missing"
    if ask is None:
        import getpass

        ask = getpass.getpass
    while True:
        first = await asyncio.to_thread(ask, "Password of the first administrator 'admin': ")
        again = await asyncio.to_thread(ask, "Again: ")
        if first != again:
            print("the two passwords differ; try again", file=sys.stderr)
            continue
        try:
            await create_user("admin", first)
        except UserError as exc:
            print(f"{exc}; try again", file=sys.stderr)
            continue
        log.info("administrator admin created")
        return "created"


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
    try:
        await first_admin()
    except (EOFError, KeyboardInterrupt):
        log.warning(NO_ADMIN_LINE)
    cfg = coovox.config
    log.info("CooVox web UI on http://%s:%s/ (ARI %s, app %s)", cfg.web_host, cfg.web_port,
             cfg.ari_url, cfg.ari_app)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
        await coovox.close()
