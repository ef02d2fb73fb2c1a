"""Core tables: users, API tokens, web sessions, plugin state, settings and the web log
(app ``core``)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class User(Model):
    """A person who signs in to the web UI or owns API tokens."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=32)
    language = fields.CharField(max_length=8, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "core_user"


class ApiToken(Model):
    """A bearer token for the JSON API, stored as its SHA-256 only."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked = fields.BooleanField(default=False)

    class Meta:
        table = "core_api_token"


class WebSession(Model):
    """A signed-in browser session: the cookie carries a random id, this row its SHA-256.

    Deleting the row ends the session at once, wherever the cookie is (sign-out, password
    change, user deleted, "sign out everywhere").
    """

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    last_seen_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=255, default="")

    class Meta:
        table = "core_web_session"


class PluginState(Model):
    """An administrator's choice to enable or disable a plugin."""

    name = fields.CharField(max_length=100, primary_key=True)
    enabled = fields.BooleanField(default=True)

    class Meta:
        table = "core_plugin_state"


class Setting(Model):
    """A JSON setting of a plugin (``namespace``) under ``key``."""

    id = fields.IntField(primary_key=True)
    namespace = fields.CharField(max_length=64)
    key = fields.CharField(max_length=64)
    value: Any = fields.JSONField(null=True)

    class Meta:
        table = "core_setting"
        unique_together = (("namespace", "key"),)


class WebLog(Model):
    """One state-changing web or API request (manual §7.9.1)."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    ip = fields.CharField(max_length=64, default="")
    username = fields.CharField(max_length=64, default="")
    role = fields.CharField(max_length=32, default="")
    action = fields.CharField(max_length=255)
    result = fields.CharField(max_length=255, default="")
    # what was changed: the form's or the JSON body's parameters, secrets masked (a JSON
    # object as text; "" when there were none)
    details = fields.TextField(default="", db_default="")

    class Meta:
        table = "core_web_log"


async def get_setting(namespace: str, key: str, default: Any = None) -> Any:
    row = await Setting.get_or_none(namespace=namespace, key=key)
    return default if row is None else row.value


_setting_writes = 0  # bumped by every set_setting of this process (see setting_writes)


def setting_writes() -> int:
    """How many times this process wrote a setting: a reader caching settings in the
    process refreshes its copy when this number changes."""
    return _setting_writes


async def set_setting(namespace: str, key: str, value: Any) -> None:
    global _setting_writes
    _setting_writes += 1
    updated = await Setting.filter(namespace=namespace, key=key).update(value=value)
    if not updated:
        await Setting.create(namespace=namespace, key=key, value=value)
