"""The deliveries of low-balance webhooks (Tortoise app ``low_balance``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Delivery(Model):
    """One webhook about one extension whose balance fell below its threshold."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    extension = fields.CharField(max_length=32, db_index=True)
    balance = fields.CharField(max_length=32)
    threshold = fields.CharField(max_length=32)
    trigger = fields.CharField(max_length=32)
    url = fields.CharField(max_length=500)
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    error = fields.CharField(max_length=500, default="")

    class Meta:
        table = "low_balance_delivery"
        ordering = ["-id"]
