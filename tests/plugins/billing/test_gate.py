"""The gate decides in the spec's order."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.metering import Meter
from tests.support.billing import call_info, setup_billing


async def test_gate_order(meter):
    await setup_billing(balance="0.05")
    info = call_info("g1")
    assert (await meter.gate(info)).refuse == "insufficient funds"  # 0.05 < initial 0.1
    await services.recharge(["100"], "0.05", "op", info.started_at)
    decision = await meter.gate(info)
    assert decision.refuse is None and decision.data["rate"]["initial_cost"] == "0.1000"
    await services.update_accounts(["100"], {"status": "locked"})
    assert (await meter.gate(info)).refuse == "locked"
    assert (await meter.gate(call_info("g2", dialed="812345"))).refuse == "locked"
    await services.update_accounts(["100"], {"status": "unlocked"})
    assert await meter.gate(call_info("g3", dialed="812345")) is None  # no rate: free
    await set_setting("billing", "block_unrated", True)
    assert (await meter.gate(call_info("g3", dialed="812345"))).refuse == "no rate"
    await services.update_accounts(["100"], {"enabled": False, "status": "locked"})
    assert await meter.gate(info) is None  # billing off for the extension
    await services.update_accounts(["100"], {"enabled": True})
    await set_setting("billing", "active", False)
    assert await meter.gate(info) is None  # deactivated system-wide


async def test_available_counts_credit_and_zero_is_refused(meter):
    await setup_billing(balance="0", credit="0.1")
    assert (await meter.gate(call_info("g1"))).refuse is None
    await services.update_accounts(["100"], {"credit": Decimal(0)})
    assert (await meter.gate(call_info("g1"))).refuse == "insufficient funds"


async def test_rate_window_uses_the_pbx_time_zone(coovox):
    await setup_billing(balance="5", rate={
        "prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.5", "unit": 60,
        "start_time": "22:00", "end_time": "06:00", "extensions": "all"})
    shanghai = Meter("Asia/Shanghai")
    at_15_utc = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert (await shanghai.gate(call_info("t1", started_at=at_15_utc))) is not None
    assert await Meter("UTC").gate(call_info("t2", started_at=at_15_utc)) is None


async def test_the_rate_copy_is_kept_when_the_rate_changes(meter, control):
    await setup_billing(balance="5")
    info = call_info("k1")
    decision = await meter.gate(info)
    await meter.answered(info, control, decision, False)
    rate = (await services.active_rules())[0]
    await services.update_rate(rate.id, {"initial_cost": "3"})
    await services.delete_rate(rate.id)
    await control.run_until("k1", 61)
    await meter.ended(info, {"status": "answered", "talk_time": 61})
    fields = await meter.fields(["k1"])
    assert fields["k1"]["cost"] == "0.1200"


async def test_settings_edited_by_another_node_are_used_after_the_short_cache(meter,
                                                                               monkeypatch):
    """The meter keeps settings for SETTINGS_TTL seconds: an edit in this process is used
    by the next call, one written by another node sharing the database soon after."""
    from coovox.models import Setting
    from coovox.plugins.billing import metering

    await setup_billing(balance="1")
    info = call_info("n1", dialed="812345")  # no rate matches
    assert await meter.gate(info) is None
    await services.update_settings({"block_unrated": True})  # this process: seen at once
    assert (await meter.gate(info)).refuse == "no rate"
    # another node's edit: the row changes without this process writing it
    await Setting.filter(namespace="billing", key="block_unrated").update(value=False)
    later = meter.clock() + metering.SETTINGS_TTL + 0.1
    monkeypatch.setattr(meter, "clock", lambda: later)
    assert await meter.gate(info) is None


async def test_a_rate_edited_in_this_process_is_used_by_the_next_gate(meter, monkeypatch):
    """The meter caches the active rates like the settings: an edit through the billing
    services is used at once, one written by another node after SETTINGS_TTL seconds."""
    from coovox.plugins.billing import metering
    from coovox.plugins.billing.models import Rate

    await setup_billing(balance="1")
    info = call_info("e1")  # dials 912345678
    first = (await services.active_rules())[0]
    assert (await meter.gate(info)).data["rate"]["id"] == first.id
    await services.update_rate(first.id, {"prefix": "99"})
    assert await meter.gate(info) is None  # no rate covers the number any more: unbilled
    new = await services.create_rate({"prefix": "91", "initial_cost": "0", "initial_time": 0,
                                      "rate": "0.5", "unit": 60, "extensions": "all"})
    assert (await meter.gate(info)).data["rate"]["id"] == new.id
    await services.update_rate(new.id, {"rate": "2"})  # more than the balance
    assert (await meter.gate(info)).refuse == "insufficient funds"
    await services.delete_rate(new.id)
    assert await meter.gate(info) is None
    # another node's edit: the row changes without this process writing it
    await Rate.filter(id=first.id).update(prefix="9")
    assert await meter.gate(info) is None  # still the cached rates
    later = meter.clock() + metering.SETTINGS_TTL + 0.1
    monkeypatch.setattr(meter, "clock", lambda: later)
    assert (await meter.gate(info)).data["rate"]["id"] == first.id
