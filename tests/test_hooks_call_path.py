"""The call hooks end to end: real calls through the ARI double reach the all-hooks plugin."""

from __future__ import annotations

import asyncio

import pytest

from coovox.hooktypes import GateDecision
from coovox.sim import FarEnd
from tests.support import all_hooks_plugin as plug
from tests.support.all_hooks_plugin import calls_of, plain
from tests.support.call_app import app_config, finished, open_app, seed


@pytest.fixture
async def app(tmp_path, double):
    plug.reset()
    coovox = await open_app(app_config(tmp_path, double), [plug])
    await seed()
    try:
        yield coovox
    finally:
        await coovox.close()


async def wait_for(hook: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
    async with asyncio.timeout(timeout):
        while len(calls_of(hook)) < count:
            await asyncio.sleep(0.02)
    return calls_of(hook)


async def test_answered_call_passes_every_call_hook(app, double):
    double.far_end("123450", FarEnd(hangup_after=0.3))
    await double.place_call("100", "9123450")
    (row,) = await finished()
    (ended,) = await wait_for("coovox_call_ended")

    (gate,) = calls_of("coovox_call_gate")
    info = gate["call"]
    assert (info.call_id, info.extension, info.extension_name) == (row.id, "100", "Alice")
    assert (info.dialed, info.sent, info.rule, info.trunks) == ("9123450", "123450", "Out",
                                                                ("pstn",))
    assert info.answered_at is None

    (answered,) = plain("coovox_call_answered")
    assert answered["call"].call_id == row.id and answered["call"].answered_at is not None
    assert answered["control"] is app.services["calls"]
    assert answered["decision"] == GateDecision(plug.PLUGIN_NAME, cap=plug.CAP,
                                                data={"seen": row.id})
    assert answered["resumed"] is False
    assert answered["talk"] is not None and answered["talk"] >= 0

    assert ended["call"].call_id == row.id
    record = ended["record"]
    assert (record["id"], record["status"], record["reason"]) == (row.id, "answered",
                                                                  "callee hung up")
    assert record["talk_time"] == pytest.approx(row.talk_time, abs=0.001)
    assert plain("coovox_call_cut") == []  # nobody cut it


async def test_refusal_ends_the_call_before_dialling(app, double):
    await double.place_call("101", "95666")
    (row,) = await finished()
    (ended,) = await wait_for("coovox_call_ended")
    assert (row.status, row.reason) == ("refused", "number barred by allhooks")
    assert ended["record"]["status"] == "refused"
    assert plain("coovox_call_answered") == []
    assert not [r for r in double.requests if r.path.endswith("/dial")]


async def test_plugin_cap_cuts_the_call_and_tells_the_plugins(app, double):
    double.far_end("5777", FarEnd())  # answers and never hangs up
    await double.place_call("102", "95777")
    (row,) = await finished()
    (cut,) = await wait_for("coovox_call_cut")
    assert cut["call"].call_id == row.id
    assert (cut["reason"], cut["plugin"]) == ("cap reached", plug.PLUGIN_NAME)
    (ended,) = await wait_for("coovox_call_ended")
    assert ended["record"]["reason"] == "cap reached"
    assert ended["record"]["billed_talk_time"] == pytest.approx(plug.SHORT_CAP)


async def test_call_log_api_merges_plugin_fields(app, double, aiohttp_client):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    double.far_end("123450", FarEnd(hangup_after=0.1))
    await double.place_call("100", "9123450")
    (row,) = await finished()
    await create_user("admin", "Hooks-pass-1")
    _, token = await create_token("admin")
    client = await aiohttp_client(create_app(app))
    resp = await client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    (item,) = (await resp.json())["items"]
    assert item["id"] == row.id and item["allhooks_tag"] == f"tag-{row.id}"
    assert plain("coovox_call_fields")[-1] == {"call_ids": [row.id]}
