"""CRUD of the outbound configuration with validation and reference checks (no HTTP).

Each kind (extensions, trunks, dial rules, dial permissions, PIN sets) is described by a
:class:`Kind`: its model, key field, how to clean input and how to show a row.  The
functions ``get``/``create``/``update``/``delete`` raise :class:`ConfigError` subclasses
(400 :class:`Invalid`, 404 :class:`NotFound`, 409 :class:`Conflict`) naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from coovox.inputs import shown, text_problem
from coovox.messages import Field, Joined, Msg
from coovox.plugins.outbound import rules as r
from coovox.plugins.outbound.models import DialPermission, DialRule, Extension, PinSet, Trunk
from coovox.plugins.outbound.rules import (
    DEFAULT_PERMISSION,
    ConfigError,
    Conflict,
    Invalid,
    NotFound,
)
from coovox.storage import schema

__all__ = ["ConfigError", "Conflict", "Invalid", "NotFound", "KINDS", "Kind", "get", "create",
           "update", "delete", "ensure_defaults", "serialize", "DEFAULT_PERMISSION"]

Cleaner = Callable[[dict[str, Any], bool], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """One kind of configuration object."""

    name: str            # "extension"
    model: type[Model]
    key: str             # "number" or "name"
    fields: tuple[str, ...]
    defaults: dict[str, Any]
    clean: Cleaner
    check_refs: Callable[[dict[str, Any]], Awaitable[None]]
    users_of: Callable[[str], Awaitable[list[str]]]


def _pick(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise Invalid(Msg("unknown field; known fields: %(fields)s", fields=", ".join(allowed)),
                      unknown[0])
    return dict(data)


# --- cleaning per kind --------------------------------------------------------------------


def _clean_extension(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "number" in data:
        out["number"] = r.clean_number(data.get("number"))
    if "name" in data:
        out["name"] = r.clean_text(data["name"], "name", 128)
    if "enabled" in data:
        out["enabled"] = r.clean_bool(data["enabled"], "enabled")
    if "dial_permission" in data or creating:
        value = data.get("dial_permission")
        out["dial_permission"] = (DEFAULT_PERMISSION if value in (None, "")
                                  else r.clean_name(value, "dial_permission"))
    for f in ("caller_id1", "caller_id2"):
        if f in data:
            out[f] = r.clean_caller_id(data[f], f)
    return out


def _clean_trunk(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = r.clean_name(data.get("name"))
    if creating or "dial_string" in data:
        out["dial_string"] = r.clean_dial_string(data.get("dial_string"))
    if "enabled" in data:
        out["enabled"] = r.clean_bool(data["enabled"], "enabled")
    if "max_calls" in data:
        out["max_calls"] = r.clean_int(data["max_calls"], "max_calls", 1, 10000)
    if "caller_id" in data:
        out["caller_id"] = r.clean_caller_id(data["caller_id"], "caller_id")
    if "prefer" in data:
        out["prefer"] = r.clean_choice(data["prefer"], "prefer", r.PREFERENCES)
    return out


def _clean_rule(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = r.clean_name(data.get("name"))
    for f in ("prefix", "prepend"):
        if f in data:
            out[f] = r.clean_dial_chars(data[f], f)
    if creating or "pattern" in data:
        out["pattern"] = r.clean_pattern(data.get("pattern"))
    if creating or "trunks" in data:
        out["trunks"] = r.clean_names(data.get("trunks"), "trunks", required=True)
    if "time_limit" in data:
        out["time_limit"] = r.clean_int(data["time_limit"], "time_limit", 60, 3600)
    if "pin_set" in data:
        value = data["pin_set"]
        out["pin_set"] = None if value in (None, "") else r.clean_name(value, "pin_set")
    if "condition" in data:
        out["condition"] = r.clean_condition(data["condition"])
    if "caller_id" in data:
        out["caller_id"] = r.clean_caller_id_choice(data["caller_id"])
    if "call_method" in data:
        out["call_method"] = r.clean_choice(data["call_method"], "call_method", r.CALL_METHODS)
    return out


def _clean_permission(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = r.clean_name(data.get("name"))
    if "dial_rules" in data:
        out["dial_rules"] = r.clean_names(data["dial_rules"], "dial_rules")
    return out


def _clean_pin_set(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = r.clean_name(data.get("name"))
    if "pins" in data or creating:
        out["pins"] = r.clean_pins(data.get("pins", []))
    return out


# --- references ---------------------------------------------------------------------------


async def _missing(model: type[Model], names: list[str], field: str, what: str) -> None:
    if not names:
        return
    found = set(await model.filter(name__in=names).values_list("name", flat=True))
    absent = [n for n in names if n not in found]
    if absent:
        raise r.Missing(Msg("no %(kind)s named %(names)s", kind=Msg(what),
                          names=", ".join(repr(a) for a in absent)), field)


async def _refs_extension(data: dict[str, Any]) -> None:
    if "dial_permission" in data:
        await _missing(DialPermission, [data["dial_permission"]], "dial_permission",
                       "dial permission")


async def _refs_rule(data: dict[str, Any]) -> None:
    await _missing(Trunk, data.get("trunks", []), "trunks", "trunk")
    if data.get("pin_set"):
        await _missing(PinSet, [data["pin_set"]], "pin_set", "PIN set")


async def _refs_permission(data: dict[str, Any]) -> None:
    await _missing(DialRule, data.get("dial_rules", []), "dial_rules", "dial rule")


async def _no_refs(data: dict[str, Any]) -> None:
    return None


async def _users_of_trunk(name: str) -> list[str]:
    rules = await DialRule.all().order_by("name").values_list("name", "trunks")
    return [Msg("dial rule %(name)s", name=repr(rn)) for rn, trunks in rules
            if name in (trunks or [])]


async def _users_of_rule(name: str) -> list[str]:
    perms = await DialPermission.all().order_by("name").values_list("name", "dial_rules")
    return [Msg("dial permission %(name)s", name=repr(pn)) for pn, rules in perms
            if name in (rules or [])]


async def _users_of_pin_set(name: str) -> list[str]:
    rules = await DialRule.filter(pin_set=name).order_by("name").values_list("name", flat=True)
    return [Msg("dial rule %(name)s", name=repr(rn)) for rn in rules]


async def _users_of_permission(name: str) -> list[str]:
    if name == DEFAULT_PERMISSION:
        return [Msg("the system (it is the default dial permission)")]
    qs = Extension.filter(dial_permission=name)
    count = await qs.count()
    if not count:
        return []
    first = await qs.order_by("number").limit(5).values_list("number", flat=True)
    if count > len(first):
        return [Msg("extension(s) %(numbers)s and %(more)s more", numbers=", ".join(first),
                    more=count - len(first))]
    return [Msg("extension(s) %(numbers)s", numbers=", ".join(first))]


async def _users_of_nothing(name: str) -> list[str]:
    return []


KINDS: dict[str, Kind] = {
    "extension": Kind("extension", Extension, "number",
                      ("number", "name", "enabled", "dial_permission", "caller_id1",
                       "caller_id2"),
                      {"name": "", "enabled": True, "caller_id1": "", "caller_id2": ""},
                      _clean_extension, _refs_extension,
                      _users_of_nothing),
    "trunk": Kind("trunk", Trunk, "name",
                  ("name", "dial_string", "enabled", "max_calls", "caller_id", "prefer"),
                  {"enabled": True, "max_calls": None, "caller_id": "", "prefer": "extension"},
                  _clean_trunk, _no_refs,
                  _users_of_trunk),
    "dial rule": Kind("dial rule", DialRule, "name",
                      ("name", "prefix", "pattern", "prepend", "trunks", "time_limit",
                       "pin_set", "condition", "caller_id", "call_method"),
                      {"prefix": "", "prepend": "", "time_limit": None, "pin_set": None,
                       "condition": None, "caller_id": 1, "call_method": "sequential"},
                      _clean_rule, _refs_rule, _users_of_rule),
    "dial permission": Kind("dial permission", DialPermission, "name",
                            ("name", "dial_rules"), {"dial_rules": []}, _clean_permission,
                            _refs_permission, _users_of_permission),
    "PIN set": Kind("PIN set", PinSet, "name", ("name", "pins"), {"pins": []},
                    _clean_pin_set, _no_refs, _users_of_pin_set),
}


def serialize(kind: Kind, obj: Model) -> dict[str, Any]:
    """A row as the JSON API shows it."""
    return {f: getattr(obj, f) for f in kind.fields}


def valid_key(kind: Kind, key: Any) -> str:
    """A key from a path: longer than its column, or holding control characters, it names
    nothing (NotFound) -- never a database error."""
    limit = schema.max_length(kind.model, kind.key) or 0
    if not isinstance(key, str) or len(key) > limit or text_problem(key):
        shown_key = shown(key) if isinstance(key, str) else "?"
        raise NotFound(Msg("no %(kind)s %(key)s", kind=Msg(kind.name), key=shown_key),
                       kind.key)
    return key


async def get(kind: Kind, key: str) -> Model:
    key = valid_key(kind, key)
    obj = await kind.model.get_or_none(**{kind.key: key})
    if obj is None:
        raise NotFound(Msg("no %(kind)s %(key)s", kind=Msg(kind.name), key=shown(key)),
                       kind.key)
    return obj


async def create(kind: Kind, data: dict[str, Any]) -> Model:
    clean = kind.clean(_pick(data, kind.fields), True)
    values = {**kind.defaults, **clean}
    await kind.check_refs(values)
    exists = Msg("a %(kind)s %(key)s already exists", kind=Msg(kind.name),
                 key=repr(values[kind.key]))
    if await kind.model.exists(**{kind.key: values[kind.key]}):
        raise Conflict(exists, kind.key)
    try:
        return await kind.model.create(**values)
    except IntegrityError:
        raise Conflict(exists, kind.key) from None


async def update(kind: Kind, key: str, data: dict[str, Any]) -> Model:
    obj = await get(kind, key)
    clean = kind.clean(_pick(data, kind.fields), False)
    if kind.key in clean and clean[kind.key] != key:
        raise Invalid(Msg("the %(field)s cannot be changed; add a new %(kind)s instead",
                          field=Field(kind.key), kind=Msg(kind.name)), kind.key)
    await kind.check_refs(clean)
    for f, v in clean.items():
        setattr(obj, f, v)
    await obj.save(update_fields=[f for f in clean if f != kind.key] or None)
    return obj


async def delete(kind: Kind, key: str) -> None:
    obj = await get(kind, key)
    users = await kind.users_of(key)
    if users:
        raise Conflict(Msg("%(kind)s %(key)s is used by %(users)s", kind=Msg(kind.name),
                           key=repr(key), users=Joined(users)), kind.key)
    await obj.delete()


async def ensure_defaults() -> None:
    """Create the default dial permission ``DialPlan1`` when it is missing."""
    if not await DialPermission.exists(name=DEFAULT_PERMISSION):
        try:
            await DialPermission.create(name=DEFAULT_PERMISSION, dial_rules=[])
        except IntegrityError:  # another node created it meanwhile
            pass


async def names(model: type[Model]) -> list[str]:
    """All names of a kind (for pickers), sorted."""
    return list(await model.all().order_by("name").values_list("name", flat=True))

