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
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from coovox.export_files import (
    Cells,
    Column,
    RowBlock,
    Style,
    XlsxBook,
    csv_head,
    csv_lines,
    csv_rows,
)

T = TypeVar("T")

NICE = int(os.environ.get("COOVOX_WORKER_NICE", "10"))  # added to the child's niceness
PART = 5000  # rows of an import's result per pickled part
PIECE = 1000  # export rows per call of the worker
READ = 5000  # rows the worker reads and writes per call when it reads them itself

_executor: ProcessPoolExecutor | None = None
_lock = threading.Lock()
_ids = itertools.count(1)
_jobs: dict[int, Cells | XlsxBook] = {}  # in the child
_reads: dict[int, tuple[sqlite3.Connection, sqlite3.Cursor, QuerySource]] = {}  # in the child


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


@dataclass(frozen=True)
class QuerySource:
    """Rows the worker reads itself, from the SQLite file ``path`` (a read-only connection
    of its own): ``sql`` with ``params``, each fetched block of stored tuples turned into
    row dicts by ``make(rows, *args)`` (a top-level pure function).  The product's process
    then neither reads nor converts a row: it only moves the bytes."""

    path: str
    sql: str
    params: tuple[Any, ...]
    make: Callable[..., list[dict[str, Any]]]
    args: tuple[Any, ...] = ()
    # CSV only, optional: ``csv_cells(rows, cells, *args)`` gives each fetched tuple's CSV
    # cells straight away (the same text as ``make`` then ``cells``, no row dicts)
    csv_cells: Callable[..., list[list[Any]]] | None = None


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


def _read(job: int, source: QuerySource) -> None:
    conn = sqlite3.connect(source.path, timeout=10)
    try:
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(source.sql, source.params)
    except BaseException:
        conn.close()
        raise
    _reads[job] = (conn, cursor, source)


def _pump(job: int, rows: int) -> tuple[bytes, bool]:
    """The next ``rows`` rows of the job's query, written: (the bytes, whether more come)."""
    _, cursor, source = _reads[job]
    block = cursor.fetchmany(rows)
    state = _jobs[job]
    if not block:
        data = b""
    elif source.csv_cells is not None and isinstance(state, Cells):
        data = csv_lines(source.csv_cells(block, state, *source.args))
    else:
        data = _add(job, source.make(block, *source.args))
    more = len(block) == rows
    if not more:
        _close_read(job)
    return data, more


def _close_read(job: int) -> None:
    read = _reads.pop(job, None)
    if read is not None:
        read[0].close()


def _finish(job: int) -> str | None:
    _close_read(job)
    state = _jobs.pop(job, None)
    return state.close() if isinstance(state, XlsxBook) else None


def _discard(job: int) -> None:
    _close_read(job)
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

    async def written(self, source: QuerySource, rows: int = READ) -> AsyncIterator[bytes]:
        """The bytes of every row of ``source``, read and written by the worker ``rows`` at
        a time (CSV lines; nothing for an .xlsx book, whose rows go into its file)."""
        await run(_read, self.id, source)
        pending = asyncio.ensure_future(run(_pump, self.id, rows))
        try:
            while pending is not None:
                data, more = await pending
                # the worker reads and writes the next rows while these are sent
                pending = asyncio.ensure_future(run(_pump, self.id, rows)) if more else None
                if data:
                    yield data
        finally:
            if pending is not None and not pending.done():
                await asyncio.wait([pending])  # the job's calls end before it is discarded

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
