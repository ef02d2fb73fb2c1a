"""Process restart mid-call: the app runs in a subprocess, is killed (-9) and restarted.

The call resumes (its time limit re-armed from the talk time already elapsed) and ends
with exactly one record.
"""

import asyncio

import pytest

from coovox.plugins.calls.models import Call
from tests.support.restart import TIME_LIMIT, App
from tests.support.restart import until as _until


@pytest.mark.timeout(90)
async def test_kill_and_restart_mid_call_resumes(tmp_path, double):
    async with App(tmp_path, double) as app:
        await app.spawn()
        await double.wait_connected(30)
        caller = await double.place_call("100", "6123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await asyncio.sleep(0.5)
        await app.kill()
        assert caller in double.channels and row.out_channel in double.channels

        await app.spawn()
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "the cut")
        # the time limit was re-armed from the talk time already elapsed
        assert (done.id, done.status, done.reason) == (row.id, "answered", "time limit")
        assert done.billed_talk_time == pytest.approx(TIME_LIMIT, abs=0.1)
        assert done.talk_time >= TIME_LIMIT
        assert await Call.all().count() == 1
        await _until(lambda: _no_channels(double), 5, "teardown")
        assert not double.bridges
        assert "resumed" in app.output(), app.output()[-3000:]


@pytest.mark.timeout(90)
async def test_call_that_ended_while_down_is_closed_once(tmp_path, double):
    async with App(tmp_path, double) as app:
        await app.spawn()
        await double.wait_connected(30)
        await double.place_call("100", "9123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await asyncio.sleep(2.5)  # at least one heartbeat after the answer
        await app.kill()
        killed_at = app.local.now()
        await double.far_hangup(row.out_channel)  # nobody hears it
        await asyncio.sleep(1.0)
        restarted_at = app.local.now()
        await app.spawn()
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "closing")
        assert (done.id, done.status, done.reason) == (row.id, "answered", "ended while away")
        # closed at the last moment the killed process was known alive, not at the restart
        assert done.ended_at <= killed_at < restarted_at
        assert (killed_at - done.ended_at).total_seconds() < 2.5
        assert done.talk_time == pytest.approx((done.ended_at - done.answered_at).total_seconds())
        await _until(lambda: _no_channels(double), 5, "teardown")  # the caller was hung up
        assert await Call.all().count() == 1


async def _no_channels(double) -> bool:
    return not double.channels
