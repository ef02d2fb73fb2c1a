"""The call path on PostgreSQL: records written once under concurrency."""

import asyncio

import pytest

from coovox.plugins.calls.models import Call
from coovox.plugins.calls.services import finish_call
from coovox.sim import FarEnd
from tests.support.call_app import app_config, finished, open_app, seed

pytestmark = pytest.mark.postgres


async def test_calls_on_postgresql(tmp_path, double, pg_url):
    app = await open_app(app_config(tmp_path, double, database_url=pg_url))
    try:
        await seed()
        for i in range(20):
            double.far_end(f"8{i:03d}", FarEnd(hangup_after=0.2) if i % 2 else FarEnd(busy=True))
        await asyncio.gather(*(double.place_call("100", f"98{i:03d}") for i in range(20)))
        rows = await finished(20, timeout=30)
        assert sorted(r.status for r in rows) == ["answered"] * 10 + ["busy"] * 10
        # finishing again (a repeated event, a second node) changes nothing
        again = await asyncio.gather(*(finish_call(r.id, status="failed", reason="x",
                                                   ended_at=app.now(), cause=None,
                                                   billed_talk_time=None) for r in rows))
        assert again == [None] * 20
        assert await Call.filter(status="failed").count() == 0
    finally:
        await app.close()
