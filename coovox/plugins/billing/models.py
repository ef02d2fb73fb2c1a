"""Billing tables (Tortoise app ``billing``): accounts, rates, recharges, calls, ledger.

Money columns are integers of 1/10000 (``MoneyField``) so raw SQL can update them exactly.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from coovox.storage.money_field import MoneyField, MoneyModel


class Account(MoneyModel):
    """The billing account of one extension, keyed by its number."""

    extension = fields.CharField(max_length=32, primary_key=True)
    enabled = fields.BooleanField(default=False)
    balance = MoneyField(default=0)
    credit = MoneyField(default=0)
    payment_type = fields.CharField(max_length=16, default="prepaid")
    status = fields.CharField(max_length=16, default="unlocked")
    total_recharges = MoneyField(default=0)
    # the fraud guard's counters (fraud_rules): spend (units) and admitted calls of the
    # window keyed YYYYMMDDHH / YYYYMMDD (PBX time), changed by the same conditional
    # UPDATE as the balance; calls refused until guard_until (epoch s) after a trip
    spend_hour_key = fields.BigIntField(default=0)
    spend_hour = fields.BigIntField(default=0)
    spend_day_key = fields.BigIntField(default=0)
    spend_day = fields.BigIntField(default=0)
    calls_hour_key = fields.BigIntField(default=0)
    calls_hour = fields.IntField(default=0)
    guard_until = fields.BigIntField(default=0)

    class Meta:
        table = "billing_account"


class Rate(MoneyModel):
    """A billing rate (billing.md Rates), money in 1/10000 units."""

    id = fields.IntField(primary_key=True)
    active = fields.BooleanField(default=True)
    remark = fields.CharField(max_length=255, default="")
    prefix = fields.CharField(max_length=32, default="")
    length = fields.IntField(default=0)
    initial_cost = MoneyField(default=0)
    initial_time = fields.IntField(default=0)
    rate = MoneyField(default=0)
    unit = fields.IntField(default=60)
    start_time = fields.CharField(max_length=8, default="00:00:00")
    end_time = fields.CharField(max_length=8, default="00:00:00")
    all_extensions = fields.BooleanField(default=False)
    extensions: Any = fields.JSONField(default=list)

    class Meta:
        table = "billing_rate"


class Recharge(MoneyModel):
    """One recharge (or correction) of one extension, with balances before and after."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    extension = fields.CharField(max_length=32, db_index=True)
    name = fields.CharField(max_length=128, default="")
    pre_balance = MoneyField()
    amount = MoneyField()
    post_balance = MoneyField()
    by = fields.CharField(max_length=64, default="")
    correction = fields.BooleanField(default=False)
    reason = fields.CharField(max_length=255, default="")

    class Meta:
        table = "billing_recharge"


class BillingCall(MoneyModel):
    """Billing state of one call: the rate copy, what was charged live, the final cost.

    ``local_date`` is the call's start date in the PBX time zone, stored at settlement
    so that statistics group the same way on every database.
    """

    call_id = fields.CharField(max_length=64, primary_key=True)
    extension = fields.CharField(max_length=32, db_index=True)
    name = fields.CharField(max_length=128, default="")
    rate: Any = fields.JSONField(null=True)
    charged = MoneyField(default=0)
    next_seq = fields.IntField(default=0)
    cost = MoneyField(null=True)
    settled = fields.BooleanField(default=False)
    answered = fields.BooleanField(default=False)
    talk_time = fields.FloatField(default=0)
    billed_time = fields.FloatField(default=0)
    local_date = fields.CharField(max_length=10, default="", db_index=True)
    warned = fields.BooleanField(default=False)

    class Meta:
        table = "billing_call"
        # cover the statistics query (answered, settled calls of a date range, by day),
        # for all extensions and for one
        indexes = (
            Index(fields=("answered", "settled", "local_date", "talk_time", "cost"),
                  name="billing_call_stats"),
            Index(fields=("extension", "answered", "settled", "local_date", "talk_time",
                          "cost"), name="billing_call_stats_ext"),
        )


class Ledger(MoneyModel):
    """One balance movement of a call: a live charge or a settlement (positive = debit)."""

    id = fields.BigIntField(primary_key=True)
    call_id = fields.CharField(max_length=64)
    seq = fields.IntField()
    extension = fields.CharField(max_length=32, db_index=True)
    amount = MoneyField()
    kind = fields.CharField(max_length=16, default="charge")

    class Meta:
        table = "billing_ledger"
        unique_together = (("call_id", "seq"),)


class RateDeck(Model):
    """A named set of rates (a carrier's price list) assigned to extensions as a whole.

    Its prices live in :class:`DeckVersion` rows: each import adds a version with the
    time it takes effect; a call uses the version in effect when it starts."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    remark = fields.CharField(max_length=255, default="")
    active = fields.BooleanField(default=True)
    all_extensions = fields.BooleanField(default=False)
    extensions: Any = fields.JSONField(default=list)

    class Meta:
        table = "billing_deck"


class DeckVersion(Model):
    """One imported price list of a deck, in effect from ``effective_from`` (UTC)."""

    id = fields.IntField(primary_key=True)
    deck_id = fields.IntField(db_index=True)
    effective_from = fields.DatetimeField()
    created_at = fields.DatetimeField()
    rows = fields.IntField(default=0)
    by = fields.CharField(max_length=64, default="")
    source = fields.CharField(max_length=255, default="")

    class Meta:
        table = "billing_deck_version"


class DeckRate(MoneyModel):
    """One rate of a deck version (the fields of a single rate, money in 1/10000)."""

    id = fields.BigIntField(primary_key=True)
    version_id = fields.IntField(db_index=True)
    prefix = fields.CharField(max_length=32, default="")
    length = fields.IntField(default=0)
    initial_cost = MoneyField(default=0)
    initial_time = fields.IntField(default=0)
    rate = MoneyField(default=0)
    unit = fields.IntField(default=60)
    start_time = fields.CharField(max_length=8, default="00:00:00")
    end_time = fields.CharField(max_length=8, default="00:00:00")
    remark = fields.CharField(max_length=255, default="")

    class Meta:
        table = "billing_deck_rate"
        indexes = (Index(fields=("version_id", "prefix", "length", "start_time", "end_time"),
                         name="billing_deck_rate_key"),)


class FraudTrip(Model):
    """A trip of the fraud guard: once per extension, kind and window (``period``)."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    extension = fields.CharField(max_length=32, db_index=True)
    kind = fields.CharField(max_length=32)
    period = fields.BigIntField()
    reason = fields.CharField(max_length=255, default="")
    action = fields.CharField(max_length=16, default="lock")
    cleared_at = fields.DatetimeField(null=True)
    cleared_by = fields.CharField(max_length=64, default="")

    class Meta:
        table = "billing_fraud_trip"
        unique_together = (("extension", "kind", "period"),)


class FraudAttempt(Model):
    """A refused attempt to a blocked destination (kept for the trip's minutes)."""

    id = fields.BigIntField(primary_key=True)
    extension = fields.CharField(max_length=32)
    at = fields.BigIntField()  # epoch seconds

    class Meta:
        table = "billing_fraud_attempt"
        indexes = (Index(fields=("extension", "at"), name="billing_fraud_attempt_ext"),)


class FraudActive(Model):
    """A call admitted under a limit of simultaneous calls (deleted when it ends)."""

    call_id = fields.CharField(max_length=64, primary_key=True)
    extension = fields.CharField(max_length=32, db_index=True)
    at = fields.BigIntField()  # epoch seconds of its admission

    class Meta:
        table = "billing_fraud_active"


class DeckStage(MoneyModel):
    """Rows of a deck file being imported, staged in chunks (one ``import_id`` per
    import, deleted at its end) so added/changed/removed are an SQL diff."""

    id = fields.BigIntField(primary_key=True)
    import_id = fields.BigIntField()
    line = fields.IntField()
    prefix = fields.CharField(max_length=32, default="")
    length = fields.IntField(default=0)
    initial_cost = MoneyField(default=0)
    initial_time = fields.IntField(default=0)
    rate = MoneyField(default=0)
    unit = fields.IntField(default=60)
    start_time = fields.CharField(max_length=8, default="00:00:00")
    end_time = fields.CharField(max_length=8, default="00:00:00")
    remark = fields.CharField(max_length=255, default="")

    class Meta:
        table = "billing_deck_stage"
        indexes = (Index(fields=("import_id", "prefix", "length", "start_time", "end_time",
                                 "line"), name="billing_deck_stage_key"),)
