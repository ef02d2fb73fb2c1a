"""The test plugin's own Tortoise app ``allhooks``: one small table."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class HookNote(Model):
    """A note the test plugin writes, proving its table exists."""

    id = fields.IntField(primary_key=True)
    text = fields.CharField(max_length=100)

    class Meta:
        table = "allhooks_note"
