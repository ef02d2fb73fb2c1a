"""Outbound configuration and the call log (Tortoise app ``calls``)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Trunk(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    dial_string = fields.CharField(max_length=255)  # e.g. PJSIP/{number}@carrier
    enabled = fields.BooleanField(default=True)
    max_calls = fields.IntField(null=True)
    # the trunk's outbound caller ID; whose goes first: "extension" or "trunk"
    caller_id = fields.CharField(max_length=32, default="", db_default="")
    prefer = fields.CharField(max_length=16, default="extension", db_default="extension")

    class Meta:
        table = "calls_trunk"


class PinSet(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    pins: Any = fields.JSONField(default=list)

    class Meta:
        table = "calls_pin_set"


class DialRule(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=32, default="")
    pattern = fields.CharField(max_length=64)
    prepend = fields.CharField(max_length=32, default="")
    trunks: Any = fields.JSONField(default=list)  # ordered trunk names
    time_limit = fields.IntField(null=True)  # seconds, 60..3600, None = no limit
    pin_set = fields.CharField(max_length=64, null=True)
    condition: Any = fields.JSONField(null=True)  # {"days": [0..6], "start": "08:00", "end": "18:00"}
    caller_id = fields.IntField(default=1, db_default=1)  # the extension's caller ID 1 or 2
    call_method = fields.CharField(max_length=16, default="sequential",
                                   db_default="sequential")  # or "round_robin"

    class Meta:
        table = "calls_dial_rule"


class DialPermission(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    dial_rules: Any = fields.JSONField(default=list)  # ordered dial rule names

    class Meta:
        table = "calls_dial_permission"


class Extension(Model):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=128, default="")
    enabled = fields.BooleanField(default=True)
    dial_permission = fields.CharField(max_length=64, default="DialPlan1")
    caller_id1 = fields.CharField(max_length=32, default="", db_default="")  # outbound
    caller_id2 = fields.CharField(max_length=32, default="", db_default="")  # caller IDs

    class Meta:
        table = "calls_extension"


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
