"""The fraud guard in the call path (used by :class:`~coovox.plugins.billing.metering.Meter`):
the limits of an extension (cached like the billing settings), the checks of the gate,
the spend windows handed to every charge, and trips.

Database trips: the gate reads the guard's counters with the account (the same SELECT);
a call is counted (calls per hour, simultaneous calls) by one more transaction only when
such a limit is set; a charge costs nothing more (its conditional UPDATE carries the
spend windows); refused attempts and trips are on the refusal's path only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from coovox.models import setting_writes
from coovox.plugins.billing import fraud
from coovox.plugins.billing import fraud_rules as rules
from coovox.plugins.billing.ledger import ChargeResult, SpendGuard
from coovox.plugins.billing.rating import RateRule, first_charge
from coovox.storage.money import to_units

log = logging.getLogger(__name__)
ACCOUNT_COLUMNS = ("spend_hour_key, spend_hour, spend_day_key, spend_day, guard_until")


class FraudGate:
    """One per :class:`Meter`; ``local`` turns an instant into PBX time."""

    def __init__(self, local: Callable[[datetime], datetime], clock: Callable[[], float],
                 ttl: float) -> None:
        self.local = local
        self.clock = clock
        self.ttl = ttl
        self.publish: Callable[..., Any] | None = None  # coovox.publish once started
        self.admitted: set[str] = set()  # calls counted as simultaneous by this process
        self._overrides: dict[str, dict[str, Any]] | None = None
        self._key: tuple[int, float] = (-1, 0.0)
        self._stored: Any = None  # the billing setting "fraud" the parsed limits are of
        self._parsed: dict[str | None, rules.Limits | None] = {}

    async def limits(self, settings: dict[str, Any], extension: str) -> rules.Limits | None:
        """The extension's limits (its own over the defaults), None when the guard is off;
        parsed once per change of the settings (kept with the settings' cache)."""
        stored = settings.get("fraud")
        if not (isinstance(stored, dict) and stored.get("guard")):
            return None
        writes, now = setting_writes(), self.clock()
        if self._overrides is None or writes != self._key[0] or now >= self._key[1]:
            self._overrides = await fraud.overrides()
            self._key = (writes, now + self.ttl)
            self._parsed = {}
        if stored is not self._stored:
            self._stored, self._parsed = stored, {}
        if extension not in self._parsed:
            if None not in self._parsed:
                self._parsed[None] = fraud.global_view(stored)[1]
            self._parsed[extension] = rules.limits_from(self._overrides.get(extension),
                                                        self._parsed[None])
        return self._parsed[extension]

    # --- the gate --------------------------------------------------------------------------

    async def before_rate(self, call: Any, acc: dict[str, Any],
                          limits: rules.Limits) -> str | None:
        """Refusals that need no rate: a trip's temporary refusal, the destinations."""
        now_ts = int(call.started_at.timestamp())
        if int(acc.get("guard_until") or 0) > now_ts:
            return rules.REFUSE_GUARD
        local = self.local(call.started_at)
        reason = rules.destination_refusal(limits, call.dialed, local)
        if reason and rules.trips_on_attempts(reason) and \
                await fraud.blocked_attempt(call.extension, limits, now_ts):
            await self.trip(call.extension, rules.TRIP_ATTEMPTS, limits, call.started_at)
        return reason

    async def admit(self, call: Any, acc: dict[str, Any], limits: rules.Limits,
                    rule: RateRule | None) -> str | None:
        """The spend left in the hour and the day must pay the call's first charge; the
        call is then counted (calls per hour, simultaneous calls) or refused."""
        local = self.local(call.started_at)
        if rule is not None:
            first = max(1, to_units(first_charge(rule)))
            hour_limit, day_limit = limits.spend_units()
            for kind, limit, key, row_key, spent in (
                    (rules.TRIP_SPEND_HOUR, hour_limit, rules.hour_key(local),
                     acc.get("spend_hour_key"), acc.get("spend_hour")),
                    (rules.TRIP_SPEND_DAY, day_limit, rules.day_key(local),
                     acc.get("spend_day_key"), acc.get("spend_day"))):
                if limit != rules.NO_LIMIT and \
                        rules.headroom(limit, row_key, key, spent) < first:
                    await self.trip(call.extension, kind, limits, call.started_at)
                    return rules.REFUSE_SPEND
        if not limits.counts_admissions:
            return None
        reason = await fraud.admit(call.call_id, call.extension, limits,
                                   rules.hour_key(local), int(call.started_at.timestamp()))
        if reason is None and limits.concurrent_calls:
            self.admitted.add(call.call_id)
        return reason

    # --- charges ---------------------------------------------------------------------------

    async def spend_guard(self, settings: dict[str, Any], extension: str,
                          at: datetime) -> SpendGuard | None:
        limits = await self.limits(settings, extension)
        if limits is None:
            return None
        local = self.local(at)
        hour, day = limits.spend_units()
        return SpendGuard(rules.hour_key(local), rules.day_key(local), hour, day)

    async def on_limit(self, settings: dict[str, Any], extension: str, result: ChargeResult,
                       at: datetime) -> None:
        """A charge refused by a spend limit: the call is cut (by the caller); trip."""
        limits = await self.limits(settings, extension)
        if limits is None:
            return
        kind = rules.TRIP_SPEND_HOUR if result is ChargeResult.LIMIT_HOUR else \
            rules.TRIP_SPEND_DAY
        await self.trip(extension, kind, limits, at)

    async def ended(self, call_id: str) -> None:
        if call_id in self.admitted:
            self.admitted.discard(call_id)
            await fraud.release(call_id)

    async def trip(self, extension: str, kind: str, limits: rules.Limits,
                   at: datetime) -> None:
        try:
            await fraud.trip(extension, kind, limits, at, self.local(at), self.publish)
        except Exception:  # the refusal or cut stands; the trip is logged
            log.exception("the fraud guard's trip on extension %s could not be recorded",
                          extension)
