"""The worker process of exports and imports: another process, a lower CPU priority, and
a crashed worker does not break the next export."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from coovox import export_worker
from coovox.export_files import TEXT, Column, Style


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


async def test_the_work_runs_in_a_child_process_at_a_lower_priority():
    pid, nice = await export_worker.run(pid_and_niceness)
    assert pid != os.getpid()
    assert nice >= min(19, os.nice(0) + export_worker.NICE)


async def test_a_crashed_worker_is_replaced():
    with pytest.raises(BrokenProcessPool):
        await export_worker.run(os._exit, 3)
    job = export_worker.ExportJob("csv")
    head = await job.start([Column("a", "A", TEXT)], Style())
    body = await job.add([{"a": "=1"}, {"a": "-2"}])
    assert await job.finish() is None
    assert head + body == b"\xef\xbb\xbfA\r\n'=1\r\n-2\r\n"


async def test_what_cannot_be_pickled_fails_at_once():
    import threading

    with pytest.raises(TypeError):
        await export_worker.run(len, threading.Lock())
    assert await export_worker.run(len, "abc") == 3
