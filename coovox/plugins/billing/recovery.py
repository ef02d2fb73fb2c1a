"""Settling the calls whose end billing never heard.

A call's record is finished by call control, then billing settles it (``coovox_call_ended``).
When the process dies between the two, or the database stays away longer than the
settlement's retries, the call is finished but unsettled, and what it still owes would
never be taken.  :func:`settle_missed` finds such calls (unsettled in ``billing_call``,
finished in the call log for longer than :data:`GRACE`) and settles them as the end of the
call would have: :meth:`Meter.ended` is idempotent (a call is settled once), so a sweep
racing a late settlement, or another node's, changes nothing.  :class:`Sweeper` runs it at
start-up and every :data:`EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from coovox.plugins.billing import sql
from coovox.plugins.billing.metering import Meter
from coovox.plugins.calls import records
from coovox.plugins.calls.models import Call

log = logging.getLogger(__name__)

EVERY = 10.0  # seconds between sweeps
GRACE = 10.0  # seconds a finished call is left to the process that finished it
BATCH = 200  # calls settled per sweep at most (the next sweep takes the rest)

# unsettled calls (few: the live ones) whose record is finished, found through the
# (answered, settled, ...) index ("answered IN" makes it usable).  SQLite is told to use it:
# with the statistics of a large table its planner scans every row instead (~0.1 s for
# 1M calls, measured), holding the connection the web pages wait on.
UNSETTLED = ("SELECT b.call_id AS call_id FROM billing_call b {hint}JOIN calls_call c "
             "ON c.id = b.call_id WHERE b.answered IN (?, ?) AND b.settled = ? "
             "AND c.status <> 'active' LIMIT ?")
SQLITE_HINT = "INDEXED BY billing_call_stats "


async def settle_missed(meter: Meter, now: datetime) -> int:
    """Settle the finished calls billing has not settled; returns how many it settled."""
    query = UNSETTLED.format(hint="" if sql.is_postgres() else SQLITE_HINT)
    ids = [r["call_id"] for r in await sql.fetch(query, [True, False, False, BATCH])]
    if not ids:
        return 0
    cutoff = now - timedelta(seconds=GRACE)
    settled = 0
    for row in await Call.filter(id__in=ids):
        if row.ended_at is None or row.ended_at > cutoff:
            continue
        try:
            diff = await meter.ended(records.info_of(row), records.record_of(row))
        except Exception:  # the next sweep tries again
            log.exception("the settlement of call %s failed", row.id)
            continue
        if diff is not None:
            settled += 1
            log.warning("call %s ended without being settled: settled now", row.id)
    return settled


class Sweeper:
    """:func:`settle_missed` at start-up and every :data:`EVERY` seconds, until stopped."""

    def __init__(self, meter: Meter, now: Callable[[], datetime],
                 enabled: Callable[[], bool]) -> None:
        self.meter, self.now, self.enabled = meter, now, enabled
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="billing-settle-missed")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def _run(self) -> None:
        while True:
            try:
                if self.enabled():  # billing may be disabled while running
                    await settle_missed(self.meter, self.now())
            except Exception:  # e.g. the database is away: the next sweep tries again
                log.warning("the sweep for unsettled calls failed", exc_info=True)
            await asyncio.sleep(EVERY)
