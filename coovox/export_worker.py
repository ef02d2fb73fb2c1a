"""A worker PROCESS for the CPU-heavy part of exports and imports (issue 14, point 1).

Formatting a million export rows or parsing a 100,000-line CSV file is seconds of Python:
in a thread of the product's process it competes for the GIL with the event loop that
meters the calls.  Here it runs in one child process (started on first use with
``spawn``, at a lower CPU priority), so the loop's process only reads rows and moves
bytes.  The functions the child runs are plain top-level functions taking plain data
(:mod:`coovox.export_files`): the content of a file is the same as before.

A job (one export) keeps its state (an open .xlsx book, the CSV converters) in the child
between calls; there is ONE child, so every call of a job reaches the same state, and
calls run in the order they were made.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from coovox.export_files import Cells, Column, RowBlock, Style, XlsxBook, csv_head, csv_rows

T = TypeVar("T")

NICE = int(os.environ.get("COOVOX_WORKER_NICE", "10"))  # added to the child's niceness
PART = 5000  # rows of an import's result per pickled part
PIECE = 1000  # export rows per call of the worker

_executor: ProcessPoolExecutor | None = None
_lock = threading.Lock()
_ids = itertools.count(1)
_jobs: dict[int, Cells | XlsxBook] = {}  # in the child


def _init() -> None:
    """In the child: lower its priority, so the calls' process wins the CPU."""
    try:
        os.nice(NICE)
    except OSError:
        pass


def executor() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init)
        return _executor


def shutdown() -> None:
    """Stop the child (it is started again when needed)."""
    global _executor
    with _lock:
        running, _executor = _executor, None
    if running is not None:
        running.shutdown(wait=False, cancel_futures=True)


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process; a crashed child is replaced for the next call.

    The call is pickled here, in a thread, so that what cannot be pickled fails at once
    (the executor's own feeder thread would leave the call waiting forever)."""
    loop = asyncio.get_running_loop()
    payload = await asyncio.to_thread(pickle.dumps, (fn, args), pickle.HIGHEST_PROTOCOL)
    pool = executor()
    try:
        return await loop.run_in_executor(pool, _call, payload)
    except BrokenProcessPool:
        with _lock:
            global _executor
            if _executor is pool:
                _executor = None
        raise


# --- run in the child --------------------------------------------------------------------


def _call(payload: bytes) -> Any:
    fn, args = pickle.loads(payload)
    return fn(*args)


def _open(job: int, fmt: str, columns: Sequence[Column], style: Style,
          folder: str | None) -> bytes:
    if fmt == "csv":
        _jobs[job] = Cells(columns, style, csv=True)
        return csv_head(columns, style)
    _jobs[job] = XlsxBook(columns, style, folder)
    return b""


def _add(job: int, rows: list[dict[str, Any]] | RowBlock) -> bytes:
    state = _jobs[job]
    if isinstance(rows, RowBlock):
        rows = rows.dicts()
    if isinstance(state, Cells):
        return csv_rows(state, rows)
    state.write(rows)
    return b""


def _finish(job: int) -> str | None:
    state = _jobs.pop(job, None)
    return state.close() if isinstance(state, XlsxBook) else None


def _discard(job: int) -> None:
    state = _jobs.pop(job, None)
    if isinstance(state, XlsxBook):
        try:
            state.close()
        finally:
            state.discard()


def _in_parts(fn: Callable[..., tuple[list[Any], Any]],
              *args: Any) -> tuple[list[bytes], Any]:
    """``fn(*args)`` -> (rows, the rest), with the rows pickled in parts: the parent
    unpickles one part at a time (a single 100,000-row answer would hold its GIL)."""
    rows, rest = fn(*args)
    parts = [pickle.dumps(rows[i:i + PART], pickle.HIGHEST_PROTOCOL)
             for i in range(0, len(rows), PART)]
    return parts, rest


# --- used by the product's process ---------------------------------------------------------


class ExportJob:
    """One export in the worker: :meth:`add` chunks of rows, then :meth:`finish`."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.id = next(_ids)
        self.open = False

    async def start(self, columns: Sequence[Column], style: Style,
                    folder: str | None = None) -> bytes:
        self.open = True
        return await run(_open, self.id, self.fmt, list(columns), style, folder)

    async def add(self, rows: list[dict[str, Any]] | RowBlock) -> bytes:
        """Rows sent in pieces of ``PIECE``: each is pickled in one go (GIL held), and a
        small piece keeps that short.  A :class:`RowBlock` is made in the worker."""
        if isinstance(rows, RowBlock):
            return await run(_add, self.id, rows)
        sent = [run(_add, self.id, rows[i:i + PIECE]) for i in range(0, len(rows), PIECE)]
        return b"".join(await asyncio.gather(*sent))

    async def finish(self) -> str | None:
        """CSV: None; .xlsx: the path of the closed book (the caller deletes it)."""
        self.open = False
        return await run(_finish, self.id)

    async def discard(self) -> None:
        if self.open:
            self.open = False
            try:
                await run(_discard, self.id)
            except BrokenProcessPool:
                pass


async def parse_in_worker(fn: Callable[..., tuple[list[Any], T]],
                          *args: Any) -> tuple[list[Any], T]:
    """``fn(*args)`` (a top-level function returning rows and anything else, e.g. the
    errors) in the worker process; the rows come back in pickled parts, unpickled in a
    thread one at a time."""
    parts, rest = await run(_in_parts, fn, *args)
    rows: list[Any] = []
    for part in parts:
        rows += await asyncio.to_thread(pickle.loads, part)
    return rows, rest
