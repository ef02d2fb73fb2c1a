"""Live metering of calls: the gate, charges when due, cut-off, warning tone, settlement.

Uses the :class:`~coovox.hooktypes.CallControl` protocol only (no ARI types).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from coovox.hooktypes import CallControl, CallInfo, GateDecision
from coovox.models import setting_writes
from coovox.plugins.billing import ahead, decks, ledger, reports, services, sql
from coovox.plugins.billing.fraud_gate import ACCOUNT_COLUMNS, FraudGate
from coovox.plugins.billing.fraud_rules import REFUSE_SPEND
from coovox.plugins.billing.ledger import ChargeResult, SpendGuard
from coovox.plugins.billing.models import BillingCall
from coovox.plugins.billing.rating import (
    Charge,
    RateRule,
    block,
    charge_at,
    choose_rate,
    first_charge,
    spent_before,
    talk_time_for,
)
from coovox.storage.money import from_units
from coovox.storage.retry import retry

log = logging.getLogger(__name__)
PLUGIN = "billing"
REFUSE_LOCKED = "locked"
REFUSE_NO_RATE = "no rate"
REFUSE_FUNDS = "insufficient funds"
CUT_ERROR = "billing unavailable"
CUT_MONEY_CAP = "money cap reached"
CHARGE_TRIES = 4  # a charge failing with a database error is retried (safe: keyed by seq)
CHARGE_BACKOFF = 0.05  # seconds before the first retry, doubled each time
SETTINGS_TTL = 2.0  # seconds a node keeps billing settings and rates: another node's edit
# is seen after at most this long (an edit in this process is seen at once)
ACCOUNT_SQL = (f"SELECT enabled, status, balance, credit, {ACCOUNT_COLUMNS} "
               "FROM billing_account WHERE extension = ?")
LIMITS = (ChargeResult.LIMIT_HOUR, ChargeResult.LIMIT_DAY)
T = TypeVar("T")


@dataclass
class _Live:
    """What this process knows of a metered call."""

    rule: RateRule
    extension: str
    seq: int = 0
    warned: bool = False
    ended: bool = False
    money_cap: Decimal | None = None  # the most the call may cost (a gate's money cap)
    spent: Decimal = Decimal(0)  # the live charges taken so far
    refund: SpendGuard | None = None  # the spend windows of the last charge (its refund)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Meter:
    """Billing's call-control logic; one per running CooVox."""

    def __init__(self, timezone: str = "UTC"):
        self.tz = ZoneInfo(timezone)
        self.live: dict[str, _Live] = {}
        self._settings: dict[str, Any] | None = None
        self._settings_key: tuple[int, float] = (-1, 0.0)  # (setting_writes(), expires)
        self._rules: list[RateRule] | None = None
        self._rules_key: tuple[int, float] = (-1, 0.0)  # (rate_writes(), expires)
        self.clock = time.monotonic
        self.decks = decks.DeckCache(clock=lambda: self.clock())
        self.wall: Callable[[], datetime] = lambda: datetime.now(UTC)  # when charges fall
        self.fraud = FraudGate(self.local, lambda: self.clock(), SETTINGS_TTL)
        self.publish: Callable[..., Any] = lambda name, source, **data: None

    async def choose_rule(self, dialed: str, extension: str, at: datetime
                          ) -> tuple[RateRule, str | None] | None:
        """The rate a call from ``extension`` to ``dialed`` started at ``at`` gets, and the
        deck it comes from (None: a single rate), as the gate chooses it."""
        local = self.local(at).time()
        rule = choose_rate(await self.rules(), dialed, extension, local)
        deck = self.decks.cached(dialed, extension, at, local)
        if deck is decks.MISSING:  # the deck list is stale or an index is being built
            deck = await self.decks.choose(dialed, extension, at, local)
        if deck is not None and decks.prefer(rule, deck[0]) is deck[0]:
            return deck[0], deck[1]
        return None if rule is None else (rule, None)

    async def settings(self) -> dict[str, Any]:
        """Billing settings, cached: re-read when this process wrote a setting or after
        :data:`SETTINGS_TTL` seconds (edits made by another node sharing the database)."""
        writes, now = setting_writes(), self.clock()
        if self._settings is None or writes != self._settings_key[0] or \
                now >= self._settings_key[1]:
            self._settings = await services.get_settings()
            self._settings_key = (writes, now + SETTINGS_TTL)
        return self._settings

    async def rules(self) -> list[RateRule]:
        """The active rates, cached like :meth:`settings` (a rate written by this process
        is used at once, one written by another node after :data:`SETTINGS_TTL`)."""
        writes, now = services.rate_writes(), self.clock()
        if self._rules is None or writes != self._rules_key[0] or now >= self._rules_key[1]:
            self._rules = await services.active_rules()
            self._rules_key = (writes, now + SETTINGS_TTL)
        return self._rules

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)

    # --- gate ------------------------------------------------------------------------------

    async def gate(self, call: CallInfo) -> GateDecision | None:
        """billing.md "Gating a call", in order."""
        settings = await self.settings()
        if not settings["active"]:
            return None
        acc = await sql.fetch_one(ACCOUNT_SQL, [call.extension])
        if acc is None or not acc["enabled"]:
            return None
        if acc["status"] == "locked":
            return GateDecision(PLUGIN, refuse=REFUSE_LOCKED)
        limits = await self.fraud.limits(settings, call.extension)
        if limits is not None:
            refusal = await self.fraud.before_rate(call, acc, limits)
            if refusal:
                return GateDecision(PLUGIN, refuse=refusal)
        chosen = await self.choose_rule(call.dialed, call.extension, call.started_at)
        rule, deck_name = chosen if chosen is not None else (None, None)
        if rule is None:
            if settings["block_unrated"]:
                return GateDecision(PLUGIN, refuse=REFUSE_NO_RATE)
        else:
            avail = from_units(int(acc["balance"]) + int(acc["credit"]))
            if avail <= 0 or avail < first_charge(rule):
                return GateDecision(PLUGIN, refuse=REFUSE_FUNDS)
        if limits is not None:
            refusal = await self.fraud.admit(call, acc, limits, rule)
            if refusal:
                return GateDecision(PLUGIN, refuse=refusal)
        if rule is None:
            return None
        copy = rule.to_json()
        if deck_name is not None:
            copy["deck"] = deck_name  # the deck the rate came from, kept with the call
        return GateDecision(PLUGIN, data={"rate": copy, "extension": call.extension})

    # --- answer and charges ----------------------------------------------------------------

    async def answered(self, call: CallInfo, control: CallControl,
                       decision: GateDecision | None, resumed: bool) -> None:
        if decision is None or decision.refuse or "rate" not in decision.data:
            return
        rule = RateRule.from_json(decision.data["rate"])
        opened = None if resumed else await self._open_charging(call, decision, rule)
        if opened is None:
            row = await ledger.open_call(call.call_id, call.extension, call.extension_name,
                                         decision.data["rate"])
            taken: list[Charge] = []
            guard = None
        else:
            row, taken, guard = opened
        if row.settled:
            return
        seq = row.next_seq - len(taken)  # the charges taken with the row: published below
        state = _Live(rule, call.extension, seq=seq, warned=row.warned,
                      money_cap=call.money_cap, spent=spent_before(rule, seq))
        self.live[call.call_id] = state
        if taken:
            state.refund = guard
            self._charged(call.call_id, state, taken)
        talk = (control.talk_seconds(call.call_id) or 0.0) if resumed else 0.0
        await self._advance(call.call_id, control, state, talk)

    async def _open_charging(self, call: CallInfo, decision: GateDecision, rule: RateRule
                             ) -> tuple[ledger.CallRow, list[Charge], SpendGuard | None] | None:
        """The billing row opened with the first charge(s) due at answer, in one unit of
        work; None when they cannot be taken so (refused, a database error): the caller
        opens the row alone and :meth:`_advance` takes (or refuses) them."""
        try:
            settings = await self.settings()
            charges = self.debit_block(settings, rule, 0, 0.0, call.money_cap, Decimal(0))
            if not charges:
                return None
            guard = await self.fraud.spend_guard(settings, call.extension, self.wall())
            opened = await ahead.open_charging(
                call.call_id, call.extension, call.extension_name, decision.data["rate"],
                [c.amount for c in charges], guard)
        except Exception:  # noqa: BLE001 - the plain path below retries or cuts
            log.warning("call %s: opening with its first charge failed", call.call_id,
                        exc_info=True)
            return None
        if opened is None:
            return None
        row, count = opened
        return row, charges[:count], guard

    @staticmethod
    def debit_block(settings: dict[str, Any], rule: RateRule, seq: int, talk: float,
              money_cap: Decimal | None, spent: Decimal) -> list[Charge]:
        """The charges one debit takes from charge ``seq`` at talk time ``talk``: those due
        within the debit interval (billing.md "Charging ahead"; 0: charge ``seq`` alone),
        none past a gate's money cap (empty: charge ``seq`` is past it)."""
        interval = int(settings.get("debit_interval") or 0)
        due = charge_at(rule, seq)
        charges = block(rule, seq, max(talk, due.at) + interval) if interval > 0 else [due]
        if money_cap is None:
            return charges
        count, total = 0, spent
        for charge in charges:
            total += charge.amount
            if total > money_cap:
                break
            count += 1
        return charges[:count]

    def _charged(self, call_id: str, state: _Live, charges: list[Charge]) -> None:
        amount = sum((c.amount for c in charges), Decimal(0))
        state.seq = charges[-1].seq + 1
        state.spent += amount
        self.publish("call.charged", PLUGIN, call_id=call_id, extension=state.extension,
                     seq=charges[0].seq, amount=str(amount), at=charges[0].at,
                     spent=str(state.spent))

    async def _advance(self, call_id: str, control: CallControl, state: _Live,
                       talk: float) -> None:
        """Take every charge due at talk time ``talk`` (with those due within the debit
        interval: charging ahead); cut if one cannot be paid; then schedule the next
        boundary (and the warning)."""
        async with state.lock:
            if state.ended:
                return
            while True:
                due = charge_at(state.rule, state.seq)
                if not (due.at == 0 or due.at <= talk):
                    break
                settings = await self.settings()
                charges = self.debit_block(settings, state.rule, state.seq, talk, state.money_cap,
                                     state.spent)
                if not charges:
                    state.ended = True  # a gate's money cap: not one unit past it
                    log.info("call %s cut at %ss: money cap %s", call_id, due.at,
                             state.money_cap)
                    await control.cut(call_id, CUT_MONEY_CAP, billed_until=due.at,
                                      plugin=PLUGIN)
                    return
                try:
                    guard = await self.fraud.spend_guard(settings, state.extension,
                                                         self.wall())
                    result, count = await _charge(call_id, state.extension, charges, guard)
                except Exception:  # fail closed: a call nobody can bill is not left running
                    state.ended = True
                    log.exception("call %s cut at %ss: its charge failed", call_id, due.at)
                    await control.cut(call_id, CUT_ERROR, billed_until=due.at, plugin=PLUGIN)
                    return
                if result is ChargeResult.ENDED:
                    state.ended = True
                    return
                if result is ChargeResult.REFUSED or result in LIMITS:
                    state.ended = True
                    reason = REFUSE_FUNDS if result is ChargeResult.REFUSED else REFUSE_SPEND
                    log.info("call %s cut at %ss: %s", call_id, due.at, reason)
                    await control.cut(call_id, reason, billed_until=due.at, plugin=PLUGIN)
                    if result in LIMITS:
                        await self.fraud.on_limit(settings, state.extension, result,
                                                  self.wall())
                    return
                state.refund = guard
                self._charged(call_id, state, charges[:count])
            nxt = charge_at(state.rule, state.seq)
            control.schedule(call_id, nxt.at, self._callback(call_id, control, state, nxt.at))
            if not state.warned and int((await self.settings())["warning_seconds"] or 0) > 0:
                await self._plan_warning(call_id, control, state, talk)

    def _callback(self, call_id: str, control: CallControl, state: _Live, at: float):
        async def run() -> None:
            try:
                await self._advance(call_id, control, state, at)
            except Exception:
                log.exception("billing of call %s failed at %ss", call_id, at)
        return run

    async def cut_point(self, state: _Live) -> float | None:
        """Talk time of the boundary the balance now cannot pay (None: rate 0, never)."""
        if state.rule.rate <= 0:
            return None
        avail = await ledger.available(state.extension)
        affordable = max(0, math.floor(avail / state.rule.rate))
        return charge_at(state.rule, state.seq + affordable).at

    async def _plan_warning(self, call_id: str, control: CallControl, state: _Live,
                            talk: float) -> None:
        if state.warned:
            return
        seconds = int((await self.settings())["warning_seconds"] or 0)
        if seconds <= 0:
            return
        cut_at = await self.cut_point(state)
        if cut_at is None:
            return
        warn_at = cut_at - seconds
        if warn_at <= talk:
            if state.warned:  # another boundary's check warned while this one awaited
                return
            state.warned = True
            await BillingCall.filter(call_id=call_id).update(warned=True)
            await control.play_prompt(call_id, "low-balance")
            available = await ledger.available(state.extension)  # once per warned call
            self.publish("balance.low", PLUGIN, extension=state.extension, call_id=call_id,
                         available=str(available), seconds_left=max(0.0, cut_at - talk))
            return

        async def check() -> None:
            async with state.lock:
                if state.warned or state.ended:
                    return
            await self._plan_warning(call_id, control, state, warn_at)

        control.schedule(call_id, warn_at, check)

    # --- end -------------------------------------------------------------------------------

    def cut(self, call_id: str) -> None:
        state = self.live.get(call_id)
        if state is not None:
            state.ended = True

    async def ended(self, call: CallInfo, record: dict[str, Any]) -> Decimal | None:
        """Settle the call: cost(billed talk time), ledger settled to it (one transaction).

        Boundaries not charged live (passed while this process was dead or resuming, or
        racing the hangup) are charged first, one by one like live ones: the first that
        cannot be afforded ends the billed time there, as a live cut would have.
        """
        state = self.live.pop(call.call_id, None)
        if state is not None:
            async with state.lock:  # let a charge in progress finish first
                state.ended = True
        talk = float(record.get("talk_time") or 0)
        billed = record.get("billed_talk_time")
        billed = talk if billed is None else float(billed)
        if call.money_cap is not None:  # never billed past a gate's money cap
            billed = await self._within_cap(call, state, billed)
        answered = record.get("status") == "answered" or talk > 0
        local_date = self.local(call.started_at).date().isoformat()
        settings = await self.settings()
        await self.fraud.ended(call.call_id)
        guard = await self.fraud.spend_guard(settings, call.extension, self.wall())
        # missing charges and the settlement: one unit of work (one trip on SQLite)
        return await _retry(
            f"the settlement of call {call.call_id}",
            lambda: ledger.end_call(call.call_id, call.extension, call.extension_name, talk,
                                    billed, local_date, answered, guard,
                                    state.refund if state is not None else None))

    async def _within_cap(self, call: CallInfo, state: _Live | None, billed: float) -> float:
        rule = state.rule if state is not None else None
        if rule is None:
            row = await sql.fetch_one("SELECT rate FROM billing_call WHERE call_id = ?",
                                      [call.call_id])
            rate = row and row["rate"]
            if not rate:
                return billed
            rule = RateRule.from_json(json.loads(rate) if isinstance(rate, str) else rate)
        assert call.money_cap is not None
        limit = talk_time_for(rule, call.money_cap)
        return billed if limit is None else min(billed, limit)

    async def fields(self, call_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``cost`` (running for live calls) and the rate's remark, per call id (plain
        rows, no model objects: the call-log export asks for every row)."""
        return await reports.call_fields(call_ids)


async def _retry(what: str, fn: Callable[[], Awaitable[T]]) -> T:
    """``fn()`` (an all-or-nothing unit of work), retried with a short backoff when the
    database fails."""
    return await retry(what, fn, tries=CHARGE_TRIES,
                       delay=lambda attempt: CHARGE_BACKOFF * 2 ** attempt, log=log)


async def _charge(call_id: str, extension: str, charges: list[Charge],
                  guard: SpendGuard | None = None) -> tuple[ChargeResult, int]:
    """:func:`ledger.charge` of ``charges`` as one charge, retried with a short backoff
    when the database fails; when they cannot all be paid, the largest affordable number
    of them (:func:`ahead.charge_part`).  Returns (result, how many were taken)."""
    first, count = charges[0], len(charges)
    amount = sum((c.amount for c in charges), Decimal(0))
    result = await _retry(
        f"charge {first.seq} of call {call_id}",
        lambda: ledger.charge(call_id, extension, first.seq, amount, guard, count))
    if result is ChargeResult.TAKEN:
        return result, count
    if result is ChargeResult.ENDED or count == 1:
        return result, 0
    return await _retry(
        f"charge {first.seq} (part) of call {call_id}",
        lambda: ahead.charge_part(call_id, extension, first.seq,
                                  [c.amount for c in charges], guard))
