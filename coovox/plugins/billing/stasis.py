"""The call-control hooks of billing, delegating to one :class:`Meter` per process."""

from __future__ import annotations

from typing import Any

from coovox.hookspecs import hookimpl
from coovox.hooktypes import CallControl, CallInfo, GateDecision
from coovox.plugins.billing.metering import Meter

_meter: Meter | None = None


def meter() -> Meter:
    global _meter
    if _meter is None:
        _meter = Meter()
    return _meter


def start(coovox: Any) -> None:
    global _meter
    from coovox.plugins.billing.read_api import BillingRead

    _meter = Meter(coovox.config.timezone)
    _meter.fraud.publish = coovox.publish
    _meter.publish = coovox.publish
    coovox.services["billing"] = BillingRead(_meter, coovox.now)  # coovox.api.BillingReader
    coovox.services["billing_meter"] = _meter
    coovox.services["money_decimals"] = money_decimals
    from coovox.plugins.billing.dashboard import dashboard, live_info

    coovox.services["billing_dashboard"] = dashboard
    coovox.services["billing_live"] = live_info


async def money_decimals() -> int:
    """The decimals pages show money with (the currency's, a billing setting)."""
    from coovox.plugins.billing.services import get_settings

    return (await get_settings())["money_decimals"]


@hookimpl
async def coovox_call_gate(call: CallInfo) -> GateDecision | None:
    return await meter().gate(call)


@hookimpl
async def coovox_call_answered(call: CallInfo, control: CallControl,
                               decision: GateDecision | None, resumed: bool) -> None:
    await meter().answered(call, control, decision, resumed)


@hookimpl
def coovox_call_cut(call: CallInfo, reason: str, plugin: str) -> None:
    meter().cut(call.call_id)


@hookimpl
async def coovox_call_ended(call: CallInfo, record: dict[str, Any]) -> None:
    await meter().ended(call, record)


@hookimpl
async def coovox_call_fields(call_ids: list[str]) -> dict[str, dict[str, Any]]:
    return await meter().fields(call_ids)
