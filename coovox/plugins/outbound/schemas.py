"""Request and response models of the outbound JSON API (pydantic: validation + OpenAPI).

The bodies refuse unknown keys (``additionalProperties: false``), as the services do; the
references (a rule's trunks, an extension's dial permission) are checked by the services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from coovox.plugins.outbound.bulk import MAX_COUNT
from coovox.web.schema import REFUSED, ApiModel, Flag, Listing, PlainText, list_query, text

NUMBER = r"^[0-9]{1,32}$"
CALLER_ID = r"^(\+?[0-9]{3,20})?$"
DIAL_CHARS = r"^[0-9*#+]{0,32}$"
NAME = f"^[^/{REFUSED}]*[^/\\s{REFUSED}][^/{REFUSED}]*$"

Name = text(NAME, min_length=1, max_length=64, description="1 to 64 characters, no '/'")
Number = Annotated[str, Field(pattern=NUMBER, description="1 to 32 digits")]
CallerId = Annotated[str, Field(pattern=CALLER_ID,
                                description="3 to 20 digits, optionally after a '+' "
                                            "(empty: none)")]


UNIQUE = {"uniqueItems": True}  # the services refuse a name or PIN listed twice


class Body(ApiModel):
    model_config = ConfigDict(extra="forbid")


# --- extensions ----------------------------------------------------------------------------


class ExtensionPatch(Body):
    number: Number = Field(None)
    name: Annotated[PlainText, Field(max_length=128)] | None = None
    enabled: bool = Field(None)
    dial_permission: Name | Literal[""] | None = Field(
        None, description="a dial permission's name (empty: DialPlan1)")
    caller_id1: CallerId | None = Field(None, description="first outbound caller ID (the "
                                                          "default)")
    caller_id2: CallerId | None = Field(None, description="second outbound caller ID (dial "
                                                          "rules may choose it)")


class ExtensionCreate(ExtensionPatch):
    number: Number


class Extension(ApiModel):
    number: str
    name: str
    enabled: bool
    dial_permission: str
    caller_id1: str
    caller_id2: str


# --- trunks ------------------------------------------------------------------------------

DIAL_STRING = f"^[A-Za-z][A-Za-z0-9_]*/[^\\s{REFUSED}]*\\{{number\\}}[^\\s{REFUSED}]*$"


class TrunkPatch(Body):
    name: Name = Field(None)
    dial_string: Annotated[str, Field(max_length=255, pattern=DIAL_STRING,
                                      examples=["PJSIP/{number}@carrier"])] = Field(None)
    enabled: bool = Field(None)
    max_calls: int | None = Field(None, ge=1, le=10000, description="null: no limit")
    caller_id: CallerId | None = Field(None, description="the trunk's outbound caller ID")
    prefer: Literal["extension", "trunk"] | None = Field(
        None, description="whose caller ID goes first: the extension's or the trunk's")


class TrunkCreate(TrunkPatch):
    name: Name
    dial_string: Annotated[str, Field(max_length=255, pattern=DIAL_STRING,
                                      examples=["PJSIP/{number}@carrier"])]


class Trunk(ApiModel):
    name: str
    dial_string: str
    enabled: bool
    max_calls: int | None
    caller_id: str
    prefer: str


# --- dial rules ----------------------------------------------------------------------------


class Condition(Body):
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        [0, 1, 2, 3, 4, 5, 6], min_length=1, description="0 (Monday) to 6 (Sunday)")
    start: str = Field("00:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field("23:59", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


_O = f"[^\\s\\[\\]{REFUSED}]"
_O1 = f"[^\\s\\[\\]_{REFUSED}]"
_S = "\\[(?:[0-9*#+]|" + "|".join(f"{a}-[{a}-9]" for a in range(10)) + ")+\\]"
PATTERN = f"^(?:{_O1}|{_S}|_(?:{_O}|{_S}))(?:{_O}|{_S})*$"
DialPattern = text(PATTERN, min_length=1, max_length=64, examples=["X."],
                   description="a dial pattern, e.g. X. or 1NXXNXXXXXX")


class DialRulePatch(Body):
    name: Name = Field(None)
    prefix: Annotated[str, Field(pattern=DIAL_CHARS)] | None = None
    pattern: DialPattern = Field(None)
    prepend: Annotated[str, Field(pattern=DIAL_CHARS)] | None = None
    trunks: Annotated[list[Name], Field(min_length=1, max_length=64, json_schema_extra=UNIQUE)] = Field(
        None, description="the trunks' names, in the order they are tried (distinct)")
    time_limit: int | None = Field(None, ge=60, le=3600, description="seconds; null: none")
    pin_set: Name | Literal[""] | None = Field(None, description="a PIN set's name")
    condition: Condition | None = None
    caller_id: Literal[1, 2] | None = Field(
        None, description="which of the extension's caller IDs the calls show")
    call_method: Literal["sequential", "round_robin"] | None = Field(
        None, description="sequential: the trunks in order, the next when one fails; "
                          "round_robin: each call starts at the next trunk")


class DialRuleCreate(DialRulePatch):
    name: Name
    pattern: DialPattern
    trunks: Annotated[list[Name], Field(min_length=1, max_length=64, json_schema_extra=UNIQUE)]


class DialRule(ApiModel):
    name: str
    prefix: str
    pattern: str
    prepend: str
    trunks: list[str]
    time_limit: int | None
    pin_set: str | None
    condition: dict | None
    caller_id: int
    call_method: str


# --- dial permissions, PIN sets ------------------------------------------------------------


class DialPermissionPatch(Body):
    name: Name = Field(None)
    dial_rules: Annotated[list[Name], Field(max_length=256, json_schema_extra=UNIQUE)] | None = Field(
        None, description="the dial rules' names (distinct)")


class DialPermissionCreate(DialPermissionPatch):
    name: Name


class DialPermission(ApiModel):
    name: str
    dial_rules: list[str]


Pin = Annotated[str, Field(pattern=r"^[0-9]{1,16}$")]


class PinSetPatch(Body):
    name: Name = Field(None)
    pins: Annotated[list[Pin], Field(max_length=10000, json_schema_extra=UNIQUE)] = Field(
        None, description="PINs of 1 to 16 digits, as strings (distinct)")


class PinSetCreate(PinSetPatch):
    name: Name


class PinSet(ApiModel):
    name: str
    pins: list[str]


# --- bulk add ------------------------------------------------------------------------------


class BulkAdd(Body):
    start: Number = Field(examples=["1050"])
    count: int = Field(ge=1, le=MAX_COUNT, examples=[10])
    caller_id1_start: CallerId = ""
    caller_id1_method: Literal["increment", "same"] = "increment"
    caller_id2_start: CallerId = ""
    caller_id2_method: Literal["increment", "same"] = "increment"
    dial_permission: Name = "DialPlan1"
    enabled: bool = True


class BulkAdded(ApiModel):
    created: int
    numbers: list[str]


class ExtensionList(Listing[Extension]):
    pass


class TrunkList(Listing[Trunk]):
    pass


class DialRuleList(Listing[DialRule]):
    pass


class DialPermissionList(Listing[DialPermission]):
    pass


class PinSetList(Listing[PinSet]):
    pass


# kind -> (body of a POST, body of a PATCH, a row, a page)
MODELS = {
    "extension": (ExtensionCreate, ExtensionPatch, Extension, ExtensionList),
    "trunk": (TrunkCreate, TrunkPatch, Trunk, TrunkList),
    "dial rule": (DialRuleCreate, DialRulePatch, DialRule, DialRuleList),
    "dial permission": (DialPermissionCreate, DialPermissionPatch, DialPermission,
                        DialPermissionList),
    "PIN set": (PinSetCreate, PinSetPatch, PinSet, PinSetList),
}


def query_of(kind: str, spec) -> type:
    """The list query of a kind: paging, sort, filters (``enabled`` is true/false)."""
    name = "".join(w.capitalize() for w in kind.split()) + "Query"
    extra = {"enabled": (Flag | None, None)} if "enabled" in spec.filters else {}
    return list_query(name, spec, **extra)
