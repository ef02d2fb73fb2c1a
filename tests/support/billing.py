"""Billing helpers shared by the tests: a CallControl whose timers the test runs, call infos,
billing set up as in the guide, and billed calls written like the app (``make_calls``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from coovox.hooktypes import CallInfo
from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.metering import Meter
from coovox.plugins.calls.models import Call
from coovox.plugins.outbound.models import Extension

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


TZ = "Asia/Shanghai"
# local dates in Shanghai: 2026-11-30 23:30 and 2026-12-01 00:30 and 2027-01-01 07:59
STARTS = [datetime(2026, 11, 30, 15, 30, tzinfo=UTC), datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
          datetime(2026, 12, 31, 23, 59, tzinfo=UTC)]


async def make_calls(talks=(39, 61, 116)) -> None:
    """Three billed calls (guide rate) and one refused; call log rows written like the app."""
    await Extension.create(number="100", name="=HYPERLINK(\"x\")")
    await setup_billing(balance="10")
    meter, control = Meter(TZ), FakeControl()
    for i, (start, talk) in enumerate(zip(STARTS, talks, strict=True)):
        info = call_info(f"r{i}", started_at=start)
        await Call.create(id=info.call_id, started_at=start, answered_at=start,
                          ended_at=start + timedelta(seconds=talk), extension="100",
                          extension_name="=HYPERLINK(\"x\")", dialed=info.dialed, trunk="FXO-1",
                          status="answered", talk_time=talk, duration=talk + 3)
        await meter.answered(info, control, await meter.gate(info), False)
        await control.run_until(info.call_id, talk)
        await meter.ended(info, {"status": "answered", "talk_time": talk})
    await Call.create(id="refused", started_at=STARTS[0], extension="100", dialed="91",
                      status="refused", reason="locked")
    await meter.ended(call_info("refused", started_at=STARTS[0]),
                      {"status": "refused", "talk_time": 0})


async def billed_calls(start: datetime = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)) -> None:
    """Answered, billed calls of 100 Alice, 101 Bob, 1000 Carol on three days from ``start``
    (100 has two; the guide's 0.1 a minute rate in 60 s units)."""
    names = {"100": "Alice", "101": "Bob", "1000": "Carol"}
    for number, name in names.items():
        await Extension.create(number=number, name=name)
    await services.update_settings({"active": True})
    await services.update_accounts(list(names), {"enabled": True})
    await services.recharge(list(names), "100", "t", start)
    await services.create_rate({"prefix": "9", "rate": "0.1", "unit": 60, "extensions": "all"})
    meter, control = Meter("UTC"), FakeControl()
    for i, ext in enumerate(["100", "101", "1000", "100"]):
        at = start + timedelta(days=i % 3)
        info = call_info(f"k{i}", extension=ext, started_at=at)
        await Call.create(id=info.call_id, started_at=at, answered_at=at,
                          ended_at=at + timedelta(seconds=30), extension=ext,
                          extension_name=names[ext], dialed=info.dialed, trunk="t",
                          status="answered", talk_time=30, duration=30)
        await meter.answered(info, control, await meter.gate(info), False)
        await control.run_until(info.call_id, 30)
        await meter.ended(info, {"status": "answered", "talk_time": 30})
