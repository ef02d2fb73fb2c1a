"""Point 2: ``kill -9`` with 200 metered calls up, restart, resume.

The app runs as ``coovox run`` against the ARI double (the machinery of
``tests/plugins/calls/test_restart.py``).  With 200 calls placed (most answered and talking, some
whose far end hangs up while the app is dead), the process is killed, restarted, and every
call is resumed (and later ends with the right cost) or closed.  No call record is missing
or duplicated, and the money checker passes.  400 calls too with ``COOVOX_HEAVY=1``.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coovox.plugins.billing import services
from coovox.plugins.billing.models import BillingCall
from coovox.plugins.calls.models import Call
from coovox.sim import FarEnd
from tests.reliability.books import assert_books, books_settled
from tests.reliability.proc import App, until
from tests.support.billing_app import billing_seed
from tests.support.call_app import app_config
from tests.support.reliability import local_coovox


async def count(**filters) -> int:
    return await Call.filter(**filters).count()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("calls", "hang_up_while_resuming"), [
    (200, False),
    (200, True),
    pytest.param(400, False, marks=pytest.mark.heavy),
])
async def test_kill_9_with_metered_calls_resumes_or_closes_each(tmp_path, double, calls,
                                                                 hang_up_while_resuming):
    config = app_config(tmp_path, double)
    log = tmp_path / "app.log"
    async with local_coovox(config):
        # 102 can pay for a few seconds of each of its calls: they are cut, and some are
        # settled after the restart
        low = "3" if hang_up_while_resuming else "1000"
        await billing_seed({"100": "1000", "101": "1000", "102": low})
        app = App(config.data_dir, double.url, log)
        try:
            await app.start()
            await double.wait_connected(30)
            callers = []
            for i in range(calls):
                number = f"5{i:04d}"
                # one in five: the far end hangs up while the app is dead
                double.far_end(number, FarEnd(hangup_after=6.0) if i % 5 == 0 else FarEnd())
                callers.append(await double.place_call(("100", "101", "102")[i % 3],
                                                       "9" + number))
            await until(lambda: _settled_in(calls), 90, "every call answered or refused")
            up = await count(status="active", answered_at__isnull=False)
            await app.kill()
            await asyncio.sleep(6.5)  # the far ends of 1/5 of the calls hang up meanwhile
            app = App(config.data_dir, double.url, log)
            await app.start()
            await until(lambda: _recovered(log, 1 if hang_up_while_resuming else up), 60,
                        "calls resumed or closed")
            await asyncio.sleep(1.0)
            for caller in callers:
                if caller in double.channels:
                    await double.phone_hangup(caller)
            try:
                await until(lambda: _all_finished(), 90, "every call finished")
            except TimeoutError:
                left = await Call.filter(status="active")
                raise AssertionError(
                    f"{len(left)} calls never finished, e.g. {left[:1] and vars(left[0])}\n"
                    + log.read_text(errors="replace")[-4000:]) from None
            await until(books_settled, 30, "billing settles every finished call")
        finally:
            await app.stop()
        text = log.read_text(errors="replace")
        resumed = _resumed_count(text)
        rows = await Call.all()
        assert len(rows) == calls and len({r.id for r in rows}) == calls
        assert sorted(r.sent for r in rows) == sorted(f"5{i:04d}" for i in range(calls))
        statuses = Counter((r.status, r.reason) for r in rows)
        print(f"\ncrash: {calls} calls, {up} talking at kill -9, {resumed} resumed, {statuses}")
        assert resumed >= up * 0.6, statuses  # those whose far end stayed
        assert statuses[("answered", "ended while away")] >= 1
        answered = [r for r in rows if r.status == "answered"]
        bills = {b.call_id: b for b in await BillingCall.filter(call_id__in=[r.id for r in
                                                                              answered])}
        unsettled = [(r.reason, r.id in bills) for r in answered
                     if r.id not in bills or not bills[r.id].settled]
        assert unsettled == [], unsettled
        assert "Traceback" not in text, text[-3000:]
        await assert_books()


async def _settled_in(n: int) -> bool:
    """Every call has left the dialling phase: answered, or finished (refused, cut)."""
    return await count(answered_at__isnull=False) + await Call.filter(
        answered_at__isnull=True).exclude(status="active").count() >= n


async def _all_finished() -> bool:
    return not await Call.filter(status="active").exists()


def _resumed_count(text: str) -> int:
    return len(set(re.findall(r"call (\S+) resumed after", text)))


async def _recovered(log, n: int) -> bool:
    """The restarted app has resumed or closed the ``n`` calls that were talking."""
    closed = await count(reason="ended while away")
    return _resumed_count(log.read_text(errors="replace")) + closed >= n



@pytest.mark.timeout(60)
async def test_a_call_ended_while_dead_never_takes_the_balance_below_credit(tmp_path, double):
    """Closed at recovery with the best end time known, never billed past the funds."""
    from coovox.plugins.billing.models import Account

    config = app_config(tmp_path, double)
    log = tmp_path / "app.log"
    async with local_coovox(config):
        await billing_seed({})
        await services.update_accounts(["100"], {"enabled": True, "credit": Decimal(0)})
        await services.recharge(["100"], "0.1", "test", datetime.now(UTC))  # ~8 s of talk
        app = App(config.data_dir, double.url, log)
        try:
            await app.start()
            await double.wait_connected(30)
            double.far_end("500000", FarEnd())
            caller = await double.place_call("100", "9500000")
            await until(lambda: count(answered_at__isnull=False), 15, "answered")
            await asyncio.sleep(0.5)
            await app.kill()
            await double.phone_hangup(caller)  # the caller gives up while the app is dead
            await asyncio.sleep(10)
            app = App(config.data_dir, double.url, log)
            await app.start()
            await until(books_settled, 30, "closed and settled")
        finally:
            await app.stop()
        acc = await Account.get(extension="100")
        row = await Call.first()
        assert (row.status, row.reason) == ("answered", "ended while away")
        assert acc.balance >= -acc.credit, f"balance {acc.balance} below -credit"
        await assert_books()
