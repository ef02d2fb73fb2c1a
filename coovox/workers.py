"""CPU-heavy Python work off the event loop: export formatting, CSV parsing.

:func:`heavy` runs a plain function in ONE shared worker thread.  One, because Python code
in several threads competes for the GIL with the event loop thread, which gives the GIL up
at every system call (select, send) and then waits for it: the more busy threads, the
longer each turn of the loop.  Jobs of concurrent exports and imports take turns, a chunk
at a time.  Long loops in such jobs call :func:`pause` every few rows (see
:func:`in_slices`) so the loop thread gets the GIL at once when it wants it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

SLICE = 100  # rows between two pauses
PAUSE = float(os.environ.get("COOVOX_WORKER_PAUSE", "0.0002"))  # seconds

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coovox-heavy")
        return _pool


async def heavy(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the shared worker thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(), functools.partial(fn, *args, **kwargs))


def pause() -> None:
    """Hand the GIL to the event loop thread for a moment (from a worker thread)."""
    time.sleep(PAUSE)


def in_slices(rows: list[Any], size: int = SLICE) -> Iterator[list[Any]]:
    """``rows`` in slices of ``size``, pausing between slices."""
    for start in range(0, len(rows), size):
        if start:
            pause()
        yield rows[start:start + size]
