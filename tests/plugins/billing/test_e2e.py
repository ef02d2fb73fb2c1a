"""End to end: the real app (calls + billing, ``billing_app``) against the ARI double,
1-second units."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account
from coovox.plugins.calls.models import Call
from coovox.sim import FarEnd
from coovox.users import create_token, create_user
from tests.support.billing_app import account, settled_bill
from tests.support.call_app import active_answered, finished


def await_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_prepaid_cut_at_first_unpaid_boundary_with_warning(billing_app, double):
    await set_setting("billing", "warning_seconds", 1)
    await account("100", balance="0.03")
    await double.place_call("100", "9123450")
    (row,) = await finished(timeout=15)
    assert (row.status, row.reason) == ("answered", "insufficient funds")
    assert row.talk_time >= 3.0  # cut at the boundary of 3 s (plus the hangup's moment)
    bill = await settled_bill(row.id)
    assert bill.cost == Decimal("0.03")
    assert (await Account.get(extension="100")).balance == Decimal(0)
    play = await double.wait_request("POST", r"/play$")
    # the shipped beep, then the shipped low-balance prompt (English), in one playback
    beep, prompt = play.query.get("media").split(",")
    assert beep.startswith("sound:/") and beep.endswith("/sounds/beep")
    assert prompt.startswith("sound:/") and prompt.endswith("/sounds/en/low-balance")
    assert all(Path(m[len("sound:"):] + ".wav").is_file() for m in (beep, prompt))
    # the prompt played to its end before the cut (after a tone: beep, which never ends on
    # Asterisk, it would never have started)
    events = [s.event for s in double.sent_events
              if s.event["type"] in ("PlaybackFinished", "ChannelHangupRequest")]
    assert events[0]["type"] == "PlaybackFinished", events
    assert (events[0]["playback"]["media_uri"], events[0]["playback"]["state"]) == (
        prompt, "done")
    plays = [r for r in double.requests if r.method == "POST" and r.path.endswith("/play")]
    assert len(plays) == 1  # warned once, however many boundaries planned the warning
    order = [(r.method, r.path) for r in double.requests]
    beep = order.index((play.method, play.path))
    hangups = [i for i, (m, p) in enumerate(order)
               if m == "DELETE" and re.search(r"/channels/[^/]+$", p)]
    assert hangups and beep < hangups[0]  # warned before the cut
    assert await check_invariants() == []


async def test_postpaid_spends_its_credit(billing_app, double):
    await account("101", credit="0.02", payment_type="postpaid")
    await double.place_call("101", "9123450")
    (row,) = await finished(timeout=15)
    assert row.reason == "insufficient funds" and row.talk_time >= 2.0
    assert (await settled_bill(row.id)).cost == Decimal("0.02")
    assert (await Account.get(extension="101")).balance == Decimal("-0.02")


async def test_locked_refused_and_unrated_free_or_blocked(billing_app, double):
    await account("100", balance="5", status="locked")
    await account("101", balance="5")
    await double.place_call("100", "9123455")
    (row,) = await finished(1, timeout=10)
    assert (row.status, row.reason) == ("refused", "locked")
    tone = await double.wait_request("POST", r"/play$")  # the caller hears a tone
    assert tone.query.get("media", "").startswith("tone:")
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]
    await set_setting("billing", "block_unrated", True)
    rates = await services.active_rules()
    await services.update_rate(rates[0].id, {"prefix": "99"})  # 9123455 is now unrated
    await double.place_call("101", "9123455")
    async with asyncio.timeout(10):
        while not await Call.filter(extension="101", status="refused").exists():
            await asyncio.sleep(0.05)
    assert (await Call.get(extension="101", status="refused")).reason == "no rate"
    await set_setting("billing", "block_unrated", False)
    double.far_end("123454", FarEnd(hangup_after=0.3))
    await double.place_call("101", "9123454")
    async with asyncio.timeout(10):
        while not await Call.filter(extension="101", status="answered").exists():
            await asyncio.sleep(0.05)
    free = await Call.get(extension="101", status="answered")
    assert (await settled_bill(free.id)).cost == Decimal(0)
    assert (await Account.get(extension="101")).balance == Decimal(5)


async def test_mid_call_recharge_extends_the_call(billing_app, double):
    await account("102", balance="0.02")
    await double.place_call("102", "9123450")
    await active_answered()
    await services.recharge(["102"], "0.02", "test", await_now())
    (row,) = await finished(timeout=15)
    assert row.reason == "insufficient funds" and row.talk_time >= 4.0
    assert (await settled_bill(row.id)).cost == Decimal("0.04")


async def test_statistics_and_exports_agree_with_the_call_log(billing_app, double, aiohttp_client):
    from coovox.web.app import create_app

    await account("100", balance="5")
    for n in ("9555000", "9555010"):
        double.far_end(n[1:], FarEnd(hangup_after=1.2))
        await double.place_call("100", n)
    rows = await finished(2, timeout=15)
    client = await aiohttp_client(create_app(billing_app))
    await create_user("bill-e2e", "Bill-pass-123", role="billing")
    _, token = await create_token("bill-e2e")
    auth = {"Authorization": f"Bearer {token}"}
    stats = await (await client.get("/api/v1/billing/statistics?by=day", headers=auth)).json()
    log = await (await client.get("/api/v1/billing/calls", headers=auth)).json()
    assert stats["items"][0]["calls"] == 2 == log["total"]
    total_cost = sum(Decimal(c["cost"]) for c in log["items"])
    assert Decimal(stats["items"][0]["cost"]) == total_cost == Decimal("0.04")
    assert abs(stats["items"][0]["talk_time"] - sum(r.talk_time for r in rows)) < 0.01
    raw = await (await client.get("/api/v1/billing/calls?format=csv", headers=auth)).read()
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]
    # the CSV shows money with the currency's decimals (2), the API with 4
    assert sorted(line[6] for line in lines) == sorted(
        f"{Decimal(c['cost']):.2f}" for c in log["items"]) == ["0.02", "0.02"]
