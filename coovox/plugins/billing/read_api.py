"""Billing's read API for other plugins: ``coovox.services["billing"]``.

It implements :class:`coovox.api.BillingReader`: balances, spend in a period, the rate
and price of a number for an extension, the cost of N seconds and the talk time money
buys.  Reads only; money as :class:`~decimal.Decimal` with 4 decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from coovox.hooktypes import Rating
from coovox.plugins.billing import sql
from coovox.plugins.billing.metering import Meter
from coovox.plugins.billing.rating import RateRule, cost, talk_time_for
from coovox.storage.money import from_units

_ACCOUNT = "SELECT balance, credit FROM billing_account WHERE extension = ?"
# settled calls of the period at their cost, plus the charges live calls took so far
_SPEND = ("SELECT COALESCE(SUM(CASE WHEN settled = ? THEN COALESCE(cost, 0) ELSE charged END),"
          " 0) AS spent FROM billing_call WHERE extension = ? AND "
          "((settled = ? AND local_date >= ? AND local_date <= ?) OR settled = ?)")


class BillingRead:
    """The read API; one per running CooVox (see :class:`coovox.api.BillingReader`)."""

    def __init__(self, meter: Meter, clock) -> None:
        self.meter = meter
        self.clock = clock

    async def balance(self, extension: str) -> Decimal | None:
        """The balance of an extension (None: it has no billing account)."""
        row = await sql.fetch_one(_ACCOUNT, [extension])
        return None if row is None else from_units(int(row["balance"]))

    async def available(self, extension: str) -> Decimal | None:
        """Balance plus credit: what calls may still spend (None: no account)."""
        row = await sql.fetch_one(_ACCOUNT, [extension])
        return None if row is None else from_units(int(row["balance"]) + int(row["credit"]))

    async def spend(self, extension: str, start: date, end: date) -> Decimal:
        """What the extension's calls cost on the PBX-local dates ``start``..``end``
        (inclusive), plus what its calls still running have been charged."""
        yes, no = sql.true(), (False if sql.is_postgres() else 0)
        row = await sql.fetch_one(_SPEND, [yes, extension, yes, start.isoformat(),
                                           end.isoformat(), no])
        return from_units(int(row["spent"])) if row else Decimal("0.0000")

    async def rating(self, extension: str, number: str,
                     at: datetime | None = None) -> Rating | None:
        """The rate a call from ``extension`` to ``number`` at ``at`` (now) would get."""
        chosen = await self.meter.choose_rule(number, extension, at or self.clock())
        if chosen is None:
            return None
        rule, deck = chosen
        return Rating(rate=rule.rate, unit=rule.unit, initial_cost=rule.initial_cost,
                      initial_time=rule.initial_time, remark=rule.remark, deck=deck,
                      price_per_minute=cost(rule, 60))

    def cost(self, rating: Rating, seconds: float) -> Decimal:
        """What a call of ``seconds`` talk time costs at ``rating``."""
        return cost(_rule(rating), seconds)

    def talk_time_for(self, rating: Rating, money: Decimal) -> float | None:
        """The talk time ``money`` buys at ``rating`` (None: unlimited, rate 0); a gate's
        money cap is enforced the same way."""
        return talk_time_for(_rule(rating), money)


def _rule(rating: Rating) -> RateRule:
    return RateRule(id=0, initial_cost=rating.initial_cost, initial_time=rating.initial_time,
                    rate=rating.rate, unit=rating.unit)
