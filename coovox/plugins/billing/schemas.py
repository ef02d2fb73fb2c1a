"""Request and response models of the billing JSON API (pydantic: validation + OpenAPI).

Money is a string on the wire (``"12.3400"``; a whole number is accepted as input);
cross-field rules (a positive recharge, a known extension, the balance floor) stay in the
services, which answer 400/404/409 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from coovox.messages import Msg
from coovox.plugins.billing.fraud_rules import ACTIONS, MAX_COUNT, MAX_MINUTES, MAX_PREFIXES
from coovox.plugins.billing.validation import CURRENCIES
from coovox.web.formats import MAX_DECIMALS
from coovox.web.schema import (
    REFUSED,
    ApiModel,
    Day,
    Flag,
    Listing,
    MoneyText,
    NonNegativeMoney,
    NonZeroMoney,
    PageQuery,
    PositiveMoney,
    QueryModel,
    text,
)

ExtensionKey = Annotated[str, Field(
    min_length=1, max_length=64, pattern=r"\S",
    description="an extension number (1 to 32 digits; anything else names no extension: 404)")]
ExtensionNumber = Annotated[str, Field(pattern=r"^[0-9]{1,32}$", description="1 to 32 digits "
                                       "(an unknown extension: 404)")]
Prefix = Annotated[str, Field(pattern=r"^[0-9*#+]{0,32}$")]
TimeOfDay = Annotated[str, Field(pattern=r"^([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
                                 examples=["08:00", "18:30:00"])]
Remark = text(max_length=255)
Extensions = Annotated[list[ExtensionNumber], Field(min_length=1, max_length=10000)]
ExtensionKeys = Annotated[list[ExtensionKey], Field(min_length=1, max_length=10000)]
AllOr = Literal["all"] | Extensions


# --- settings ------------------------------------------------------------------------------


class Settings(ApiModel):
    active: bool
    currency: str
    currency_symbol: str
    block_unrated: bool
    warning_seconds: int
    debit_interval: int
    decimals: dict[str, int]
    money_decimals: int


class SettingsPatch(ApiModel):
    active: bool = Field(None, description="administrators only; licensing may refuse (409)")
    currency: Literal[tuple(CURRENCIES)] = Field(None)  # type: ignore[valid-type]
    block_unrated: bool = Field(None)
    warning_seconds: int = Field(None, ge=0, le=3600)
    debit_interval: int = Field(None, ge=0, le=3600,
                                description="charging ahead: seconds of units one charge "
                                "takes (0: each unit when due)")
    decimals: int = Field(None, ge=0, le=MAX_DECIMALS,
                          description="decimal places of the currency's amounts on pages")


# --- accounts --------------------------------------------------------------------------------


class Account(ApiModel):
    extension: str
    name: str
    enabled: bool
    balance: MoneyText
    credit: MoneyText
    payment_type: Literal["prepaid", "postpaid"]
    status: Literal["unlocked", "locked"]
    total_recharges: MoneyText


class AccountList(Listing[Account]):
    pass


class AccountPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(None)
    credit: NonNegativeMoney = Field(None)
    status: Literal["unlocked", "locked"] = Field(None)
    payment_type: Literal["prepaid", "postpaid"] = Field(None)


class BulkEdit(AccountPatch):
    """At least one of enabled, credit, status, payment_type."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [k]} for k in ("enabled", "credit", "status", "payment_type")]})
    extensions: ExtensionKeys

    @model_validator(mode="after")
    def _one_field(self) -> BulkEdit:
        if not self.model_fields_set & {"enabled", "credit", "status", "payment_type"}:
            raise PydanticCustomError("fields", "{problem}", {"problem": Msg(
                "tick at least one field to change"), "field": "apply"})
        return self


class Updated(ApiModel):
    updated: int


class AccountsQuery(PageQuery):
    number: str | None = Field(None, max_length=32, description="part of the extension number")
    status: Literal["unlocked", "locked"] | None = None
    payment_type: Literal["prepaid", "postpaid"] | None = None
    enabled: Flag | None = None


# --- recharges and corrections --------------------------------------------------------------


class Recharge(ApiModel):
    """``extensions`` (all or none) or one ``extension``."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["extensions"]}, {"required": ["extension"]}]})
    amount: PositiveMoney
    extensions: ExtensionKeys = Field(None, description="the extensions recharged (all or "
                                                        "none)")
    extension: ExtensionKey = Field(None, description="one extension (or extensions)")

    @model_validator(mode="after")
    def _someone(self) -> Recharge:
        if not self.model_fields_set & {"extensions", "extension"}:
            raise PydanticCustomError("fields", "{problem}", {"problem": Msg(
                "select at least one extension"), "field": "extensions"})
        return self


Reason = text(f"^[^{REFUSED}]*[^\\s{REFUSED}][^{REFUSED}]*$", max_length=255,
              description="why (required)")


class Correction(ApiModel):
    extension: ExtensionKey
    amount: NonZeroMoney = Field(description="not 0; negative takes money off")
    reason: Reason


class HistoryRow(ApiModel):
    id: int
    at: str
    extension: str
    amount: MoneyText
    pre_balance: MoneyText
    post_balance: MoneyText
    by: str
    reason: str
    type: str


class Recharged(ApiModel):
    items: list[HistoryRow]
    total: int


class HistoryList(Listing[HistoryRow]):
    pass


Format = Literal["csv", "xlsx"]


class DatesQuery(PageQuery):
    from_: Day | None = Field(None, alias="from", description="first day YYYY-MM-DD (PBX "
                                                              "time zone)")
    to: Day | None = Field(None, description="last day YYYY-MM-DD, included")
    keyword: str | None = Field(None, max_length=64,
                                description="part of extension number or name")
    format: Format | None = Field(None, description="csv or xlsx: download every matching "
                                                    "row instead of one JSON page")


class RechargesQuery(DatesQuery):
    type: Literal["recharge", "correction", ""] | None = Field(None, description="empty: both")


class StatisticsQuery(DatesQuery):
    extension: ExtensionNumber | Literal[""] | None = Field(None, description="empty: all")
    extensions: str | None = Field(None, max_length=4000, pattern=r"^[0-9,]*$",
                                   description="a group, comma-separated (summed)")
    by: Literal["day", "month", "year"] | None = None


class CallsQuery(DatesQuery):
    status: Literal["answered", "no answer", "busy", "failed", "refused"] | None = None


class ReportList(Listing[dict[str, Any]]):
    pass


# --- rates ---------------------------------------------------------------------------------


class RatePatch(ApiModel):
    active: bool = Field(None)
    remark: Remark = Field(None)
    prefix: Prefix = Field(None)
    length: int = Field(None, ge=0, le=32, description="digits of the number (0: any)")
    initial_cost: NonNegativeMoney = Field(None)
    initial_time: int = Field(None, ge=0, le=86400)
    rate: NonNegativeMoney = Field(None)
    unit: int = Field(None, ge=1, le=86400, description="seconds billed at a time")
    start_time: TimeOfDay = Field(None)
    end_time: TimeOfDay = Field(None)
    extensions: AllOr = Field(None, description='"all" or a list of extension numbers')


class RateCreate(RatePatch):
    rate: NonNegativeMoney
    unit: int = Field(ge=1, le=86400, description="seconds billed at a time")
    extensions: AllOr = Field(description='"all" or a list of extension numbers')


class Rate(ApiModel):
    id: int
    active: bool
    remark: str
    prefix: str
    length: int
    initial_cost: MoneyText
    initial_time: int
    rate: MoneyText
    unit: int
    start_time: str
    end_time: str
    extensions: Literal["all"] | list[str]


class RateList(Listing[Rate]):
    pass


# --- decks ---------------------------------------------------------------------------------

DeckName = Annotated[str, Field(pattern=r"^[\w .+\-()]*[\w.+\-()][\w .+\-()]*$", max_length=64,
                                description="letters, digits, spaces and . + - ( ) _")]


class DeckPatch(ApiModel):
    name: DeckName = Field(None)
    remark: Remark = Field(None)
    active: bool = Field(None)
    extensions: AllOr = Field(None)


class DeckCreate(DeckPatch):
    name: DeckName
    extensions: AllOr


class Deck(ApiModel):
    id: int
    name: str
    remark: str
    active: bool
    extensions: Literal["all"] | list[str]
    versions: int | None = None
    current_version: int | None = None
    rows: int | None = None
    next_change: str | None = None


class DeckList(ApiModel):
    items: list[Deck]
    total: int


class Version(ApiModel):
    id: int
    deck: int
    effective_from: str | None
    created_at: str | None
    rows: int
    by: str
    source: str
    current: bool


class VersionList(ApiModel):
    items: list[Version]
    total: int


class ImportQuery(QueryModel):
    apply: Flag | None = Field(None, description="true: apply; default a dry run")
    layout: Literal["coovox", "carrier"] | None = None
    effective_from: str | None = Field(None, max_length=40,
                                       description="YYYY-MM-DDTHH:MM (PBX time zone)")
    filename: str | None = Field(None, max_length=255,
                                 description="the file's name (.csv or .xlsx) for a raw body")


class ExportQuery(QueryModel):
    version: int | None = Field(None, ge=1, le=2**31 - 1,
                                description="a version id; default the one in effect now")


class LookupQuery(QueryModel):
    extension: ExtensionNumber = Field(description="the calling extension")
    dialed: str = Field(pattern=r"^[0-9*#+]{1,40}$",
                        description="the number as dialled, prefix included")


class Lookup(ApiModel):
    extension: str
    number: str
    at: str
    rate: dict[str, Any] | None
    source: Any


# --- fraud guard -----------------------------------------------------------------------------

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Prefixes = Annotated[list[Annotated[str, Field(pattern=r"^[0-9*#+]{1,32}$")]],
                     Field(max_length=MAX_PREFIXES)]


class OfficeHours(ApiModel):
    model_config = ConfigDict(extra="forbid")
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field([0, 1, 2, 3, 4, 5, 6], min_length=1)
    start: str = Field("00:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field("23:59", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Limits(ApiModel):
    """An extension's own limits (the keys given; the rest follow the defaults)."""

    model_config = ConfigDict(extra="forbid")
    calls_per_hour: Count = Field(None)
    concurrent_calls: Count = Field(None)
    spend_hour: PositiveMoney | None = None
    spend_day: PositiveMoney | None = None
    blocked_prefixes: Prefixes | None = None
    allow_mode: bool = Field(None)
    allowed_prefixes: Prefixes | None = None
    international_prefixes: Prefixes | None = None
    office_hours: OfficeHours | None = None
    trip_attempts: Count = Field(None)
    trip_minutes: int = Field(None, ge=1, le=MAX_MINUTES)
    action: Literal[ACTIONS] = Field(None)  # type: ignore[valid-type]


class GuardPatch(Limits):
    guard: bool = Field(None, description="the fraud guard on or off")


class Guard(ApiModel):
    guard: bool
    defaults: dict[str, Any]


class Trip(ApiModel):
    id: int
    at: str
    extension: str
    reason: str
    action: str


class TripList(ApiModel):
    items: list[Trip]
    total: int


class GuardState(Guard):
    extensions: dict[str, Any]
    trips: TripList


class ExtensionLimits(ApiModel):
    extension: str
    limits: dict[str, Any]


class Unlocked(ApiModel):
    extension: str
    status: Literal["unlocked"]
    cleared: int
