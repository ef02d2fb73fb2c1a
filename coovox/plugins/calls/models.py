"""The call record (``calls_call``) and the Tortoise app ``calls``.

The app ``calls`` also holds the outbound configuration models (defined in
:mod:`coovox.plugins.outbound.models`); they are listed here so the app label, table names
and migration history stay what they were.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from coovox.plugins.outbound.models import DialPermission, DialRule, Extension, PinSet, Trunk


class Call(Model):
    """One call attempt: written when the call starts, finished exactly once.

    ``status`` is ``active`` until the single conditional update that finishes the call.
    ``node`` is the node that runs the call (several nodes may share one database).
    """

    id = fields.CharField(max_length=64, primary_key=True)
    node = fields.CharField(max_length=64, default="")
    started_at = fields.DatetimeField(db_index=True)
    answered_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    extension = fields.CharField(max_length=32, db_index=True)
    extension_name = fields.CharField(max_length=128, default="")
    dialed = fields.CharField(max_length=64)
    sent = fields.CharField(max_length=64, default="")
    rule = fields.CharField(max_length=64, default="")
    trunk = fields.CharField(max_length=64, default="")
    pin = fields.CharField(max_length=32, null=True)
    status = fields.CharField(max_length=16, default="active", db_index=True)
    reason = fields.CharField(max_length=64, default="")
    cause = fields.IntField(null=True)
    duration = fields.FloatField(null=True)
    talk_time = fields.FloatField(null=True)
    cap = fields.FloatField(null=True)
    billed_talk_time = fields.FloatField(null=True)
    decisions: Any = fields.JSONField(null=True)  # gate decisions per plugin, handed back on resume
    caller_channel = fields.CharField(max_length=64, default="")
    out_channel = fields.CharField(max_length=64, default="")
    bridge_id = fields.CharField(max_length=64, default="")

    class Meta:
        table = "calls_call"


__models__ = [Trunk, PinSet, DialRule, DialPermission, Extension, Call]
