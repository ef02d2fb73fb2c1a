"""The outbound configuration: trunks, PIN sets, dial rules, dial permissions, extensions.

Their tables belong to the Tortoise app ``calls`` (registered by the ``calls`` plugin, whose
migrations hold them), so existing databases keep their table names and history.
"""

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
