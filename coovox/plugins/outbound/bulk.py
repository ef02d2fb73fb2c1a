"""Bulk add of extensions (manual 003 §4.1.2 批量添加): a start number and a count, and for
each outbound caller ID a start number and how it is calculated (依次加1: one more for
each extension, or the same for all).  Pure planning plus one all-or-nothing write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from coovox.messages import Msg
from coovox.plugins.outbound import cache as config_cache
from coovox.plugins.outbound import rules as r
from coovox.plugins.outbound.models import DialPermission, Extension
from coovox.plugins.outbound.rules import DEFAULT_PERMISSION, Conflict, Invalid

MAX_COUNT = 1000
INCREMENT, SAME = "increment", "same"
METHODS = (INCREMENT, SAME)
FIELDS = ("start", "count", "caller_id1_start", "caller_id1_method", "caller_id2_start",
          "caller_id2_method", "dial_permission", "enabled")


@dataclass(frozen=True)
class Plan:
    """The extensions a bulk add creates: (number, caller ID 1, caller ID 2) each."""

    rows: tuple[tuple[str, str, str], ...]
    dial_permission: str
    enabled: bool


def numbers(start: str, count: int, field: str = "start") -> list[str]:
    """``count`` numbers from ``start`` up, as wide as ``start`` (``0098`` -> ``0099``,
    ``0100``); a number longer than 32 digits is refused."""
    first = int(start)
    out = [str(first + i).zfill(len(start)) for i in range(count)]
    if len(out[-1]) > 32:
        raise Invalid("the last number would be longer than 32 digits", field)
    return out


def caller_ids(start: str, count: int, method: str, field: str) -> list[str]:
    """The caller IDs of ``count`` extensions: none, all ``start``, or one more each (the
    '+' and the width kept); a caller ID growing beyond 20 digits is refused."""
    if not start:
        return [""] * count
    if method == SAME:
        return [start] * count
    plus, digits = ("+", start[1:]) if start.startswith("+") else ("", start)
    out = [plus + str(int(digits) + i).zfill(len(digits)) for i in range(count)]
    if len(out[-1]) - len(plus) > 20:
        raise Invalid("the last caller ID would be longer than 20 digits", field)
    return out


def plan(data: dict[str, Any]) -> Plan:
    """Check a bulk add's fields (from JSON or a form) and list what it creates."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Invalid(Msg("unknown field; known fields: %(fields)s", fields=", ".join(FIELDS)),
                      unknown[0])
    start = r.clean_number(data.get("start"), "start")
    count = r.clean_int(data.get("count"), "count", 1, MAX_COUNT, nullable=False)
    assert count is not None
    made = numbers(start, count)
    ids = []
    for n in (1, 2):
        field = f"caller_id{n}_start"
        first = r.clean_caller_id(data.get(field), field)
        method = r.clean_choice(data.get(f"caller_id{n}_method"), f"caller_id{n}_method",
                                METHODS)
        ids.append(caller_ids(first, count, method, field))
    value = data.get("dial_permission")
    permission = (DEFAULT_PERMISSION if value in (None, "")
                  else r.clean_name(value, "dial_permission"))
    enabled = r.clean_bool(data.get("enabled", True), "enabled")
    return Plan(tuple(zip(made, ids[0], ids[1], strict=True)), permission, enabled)


async def bulk_add(data: dict[str, Any]) -> list[str]:
    """Create the planned extensions, all or none; returns their numbers."""
    todo = plan(data)
    if not await DialPermission.exists(name=todo.dial_permission):
        raise r.Missing(Msg("no %(kind)s named %(names)s", kind=Msg("dial permission"),
                          names=repr(todo.dial_permission)), "dial_permission")
    wanted = [row[0] for row in todo.rows]
    taken = sorted(await Extension.filter(number__in=wanted).values_list("number", flat=True))
    if taken:
        raise _taken(taken)
    try:
        async with in_transaction():
            await Extension.bulk_create([
                Extension(number=n, name="", enabled=todo.enabled,
                          dial_permission=todo.dial_permission, caller_id1=c1, caller_id2=c2)
                for n, c1, c2 in todo.rows])
    except IntegrityError:  # added meanwhile by someone else
        taken = sorted(await Extension.filter(number__in=wanted).values_list("number",
                                                                             flat=True))
        raise _taken(taken) from None
    config_cache.changed()  # bulk_create sends no model signals
    return wanted


def _taken(taken: list[str]) -> Conflict:
    more = f" (+{len(taken) - 5})" if len(taken) > 5 else ""
    return Conflict(Msg("extension(s) %(numbers)s already exist; nothing was added",
                        numbers=", ".join(taken[:5]) + more), "start")
