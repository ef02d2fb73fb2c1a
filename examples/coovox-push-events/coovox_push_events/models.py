"""The failure log of push events (Tortoise app ``push_events``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class PushFailure(Model):
    """An event that could not be delivered after all tries."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    event = fields.CharField(max_length=32)
    call_id = fields.CharField(max_length=64, default="")
    url = fields.CharField(max_length=500)
    attempts = fields.IntField()
    error = fields.CharField(max_length=500)

    class Meta:
        table = "push_events_failure"
        ordering = ["-id"]
