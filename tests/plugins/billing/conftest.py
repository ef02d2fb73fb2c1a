"""Billing test helpers: a fake CallControl driven by hand, accounts, rates, calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from coovox.hooktypes import CallInfo
from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.metering import Meter
from coovox.plugins.calls.models import Extension
from tests.support.call_app import double  # noqa: F401 - the ARI double, for the e2e tests

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FakeControl:
    """A CallControl whose timers run only when the test calls :meth:`run_until`."""

    def __init__(self) -> None:
        self.timers: list[tuple[str, float, Callable[[], Awaitable[None]]]] = []
        self.cuts: list[tuple[str, str, float | None]] = []
        self.tones: list[tuple[str, str, float]] = []
        self.talk: dict[str, float] = {}

    async def cut(self, call_id: str, reason: str, *, billed_until: float | None = None,
                  plugin: str = "") -> bool:
        self.cuts.append((call_id, reason, billed_until))
        self.timers = [t for t in self.timers if t[0] != call_id]
        return True

    async def play_tone(self, call_id: str, tone: str) -> bool:
        self.tones.append((call_id, tone, self.talk.get(call_id, 0.0)))
        return True

    async def play_prompt(self, call_id: str, name: str) -> bool:
        return await self.play_tone(call_id, f"prompt:{name}")

    def schedule(self, call_id: str, at_talk_seconds: float, callback) -> None:
        self.timers.append((call_id, at_talk_seconds, callback))

    def talk_seconds(self, call_id: str) -> float | None:
        return self.talk.get(call_id)

    def cut_of(self, call_id: str) -> tuple[str, str, float | None] | None:
        return next((c for c in self.cuts if c[0] == call_id), None)

    async def run_until(self, call_id: str, seconds: float) -> None:
        """Advance the call's talk time to ``seconds``, firing its due timers in order."""
        while True:
            due = sorted((t for t in self.timers if t[0] == call_id and t[1] <= seconds),
                         key=lambda t: t[1])
            if not due or self.cut_of(call_id):
                break
            timer = due[0]
            self.timers.remove(timer)
            self.talk[call_id] = timer[1]
            await timer[2]()
        if not self.cut_of(call_id):
            self.talk[call_id] = seconds


def call_info(call_id: str, extension: str = "100", dialed: str = "912345678",
              started_at: datetime = NOON) -> CallInfo:
    return CallInfo(call_id=call_id, extension=extension, extension_name=f"Ext {extension}",
                    dialed=dialed, sent=dialed[1:], rule="r", trunks=("t1",),
                    started_at=started_at)


async def make_extensions(*numbers: str) -> None:
    for n in numbers:
        await Extension.create(number=n, name=f"Ext {n}")


async def setup_billing(*, balance: str = "0", credit: str = "0", extension: str = "100",
                        rate: dict[str, Any] | None = None, warning: int = 0) -> None:
    """Active billing, one enabled extension with ``balance`` and the guide's rate."""
    await set_setting("billing", "active", True)
    await set_setting("billing", "warning_seconds", warning)
    if not await Extension.exists(number=extension):
        await make_extensions(extension)
    await services.update_accounts([extension], {"enabled": True, "credit": Decimal(credit)})
    if Decimal(balance):
        await services.recharge([extension], balance, "test", NOON)
    await services.create_rate(rate or {
        "prefix": "9", "length": 0, "initial_cost": "0.1", "initial_time": 60, "rate": "0.02",
        "unit": 55, "extensions": "all"})


async def place_call(meter: Meter, control: FakeControl, call_id: str, seconds: float,
                     extension: str = "100") -> dict[str, Any]:
    """Gate, answer, run to ``seconds`` (or the cut) and end a call; returns its record."""
    info = call_info(call_id, extension)
    decision = await meter.gate(info)
    if decision is not None and decision.refuse:
        record = {"status": "refused", "reason": decision.refuse, "talk_time": 0}
        await meter.ended(info, record)
        return record
    await meter.answered(info, control, decision, False)
    await control.run_until(call_id, seconds)
    cut = control.cut_of(call_id)
    record = {"status": "answered", "talk_time": seconds}
    if cut:
        record.update(talk_time=cut[2] + 0.02, billed_talk_time=cut[2], reason=cut[1])
    await meter.ended(info, record)
    return record


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def meter(coovox) -> Meter:
    return Meter("UTC")
