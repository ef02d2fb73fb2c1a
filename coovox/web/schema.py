"""Request and response models of API routes: one source (pydantic) for validating input
and for the OpenAPI document.

A route declares ``body=`` (the JSON body's model), ``query=`` (the query string's model)
and ``responses={201: Model, 404: Error, 204: None, ...}`` (see :class:`coovox.api.Route`).
Before the handler runs, the body and query are validated against their models: a
refusal is the API's 400 naming the field (``{"error": {"code": "invalid", "field":
"amount", "message": "amount is required"}}``); the valid input is in
``request[BODY_KEY]``/``request[QUERY_KEY]`` (model instances; the keys are in
``coovox.api``).  The same models build the operation of ``/api/v1/openapi.json``
(required fields, limits, patterns, enums, every status the route answers).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic import Field as PField
from pydantic_core import PydanticCustomError

from coovox.inputs import text_problem, truth
from coovox.messages import Field, Msg
from coovox.storage.money import MAX_BALANCE, MoneyError, fmt, parse_money
from coovox.web.errors import ApiError, read_json
from coovox.web.keys import BODY_KEY, JSON_KEY, QUERY_KEY
from coovox.web.pagination import MAX_API_PER_PAGE, MAX_PAGE, ListSpec

JSON_TYPES = ("application/json",)


class ApiModel(BaseModel):
    """Base of request and response models: unknown keys are ignored, input is strict
    (a JSON body's ``"1"`` is not a number, ``1`` is not true)."""

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)


class QueryModel(BaseModel):
    """Base of query-string models: values arrive as text (``?page=2``) and are converted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class Error(BaseModel):
    """The api.md error shape: ``{"error": {"code", "message", "field"}}``."""

    error: ErrorDetail


# --- money -------------------------------------------------------------------------------

_DIGITS = r"(?:1000000000(?:\.0{1,4})?|[0-9]{1,9}(?:\.[0-9]{1,4})?)"
_POSITIVE = (r"(?:1000000000(?:\.0{1,4})?|0{0,10}[1-9][0-9]{0,8}(?:\.[0-9]{1,4})?"
             r"|0{0,10}0\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))")
MONEY_PATTERN = rf"^[+-]?{_DIGITS}$"
NON_NEGATIVE_PATTERN = rf"^\+?{_DIGITS}$"
POSITIVE_PATTERN = rf"^\+?{_POSITIVE}$"
NON_ZERO_PATTERN = rf"^[+-]?{_POSITIVE}$"
MONEY_DOC = ("money: ASCII digits, an optional sign, at most 4 decimals, at most "
             f"{fmt(MAX_BALANCE)} (a string; a whole number is accepted too)")


def _money_checker(non_negative: bool, pattern_text: str | None = None):
    pattern = re.compile(pattern_text or (NON_NEGATIVE_PATTERN if non_negative
                                          else MONEY_PATTERN))
    positive = pattern_text == POSITIVE_PATTERN
    non_zero = pattern_text in (POSITIVE_PATTERN, NON_ZERO_PATTERN)

    def check(value: Any) -> Decimal:
        try:
            amount = parse_money(value)
        except MoneyError as exc:
            problem = exc.args[0] if exc.args else str(exc)
            raise PydanticCustomError("money", "{problem}", {"problem": problem}) from None
        if positive and amount <= 0:
            raise PydanticCustomError("money", "{problem}",
                                      {"problem": Msg("must be greater than 0")})
        if non_negative and amount < 0:
            raise PydanticCustomError("money", "{problem}",
                                      {"problem": Msg("must not be negative")})
        if non_zero and amount == 0:
            raise PydanticCustomError("money", "{problem}", {"problem": Msg("must not be 0")})
        if abs(amount) > MAX_BALANCE:
            raise PydanticCustomError("money", "{problem}", {"problem": Msg(
                "must be at most %(max)s (the largest balance)", max=fmt(MAX_BALANCE))})
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise PydanticCustomError("money", "{problem}", {"problem": Msg(
                "is not a number: %(text)s (use digits 0-9 and a point, e.g. \"12.50\")",
                text=repr(value[:20]))})
        return amount

    return check


def _money_schema(non_negative: bool, pattern: str | None = None) -> dict[str, Any]:
    low = 0 if non_negative else -int(MAX_BALANCE)
    integer: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": int(MAX_BALANCE)}
    if pattern == POSITIVE_PATTERN:
        integer["minimum"] = 1
    elif pattern == NON_ZERO_PATTERN:
        integer["not"] = {"const": 0}
    return {"anyOf": [
        {"type": "string", "examples": ["12.3400"], "pattern": pattern or (
            NON_NEGATIVE_PATTERN if non_negative else MONEY_PATTERN)}, integer],
        "description": MONEY_DOC}


_as_text = PlainSerializer(lambda d: fmt(d), return_type=str)
Money = Annotated[Decimal, BeforeValidator(_money_checker(False)), _as_text,
                  WithJsonSchema(_money_schema(False), mode="validation")]
NonNegativeMoney = Annotated[Decimal, BeforeValidator(_money_checker(True)), _as_text,
                             WithJsonSchema(_money_schema(True), mode="validation")]
PositiveMoney = Annotated[Decimal, BeforeValidator(_money_checker(True, POSITIVE_PATTERN)),
                          _as_text, WithJsonSchema(_money_schema(True, POSITIVE_PATTERN),
                                                   mode="validation")]
NonZeroMoney = Annotated[Decimal, BeforeValidator(_money_checker(False, NON_ZERO_PATTERN)),
                         _as_text, WithJsonSchema(_money_schema(False, NON_ZERO_PATTERN),
                                                  mode="validation")]
MoneyText = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{4}$",
                                           "examples": ["12.3400"]})]
"""Money in an answer: a string with 4 decimals."""


def _flag(value: Any) -> bool:
    try:
        return truth(value)
    except ValueError as exc:
        raise PydanticCustomError("flag", "{problem}", {"problem": exc.args[0]}) from None


Flag = Annotated[bool, BeforeValidator(_flag),
                 WithJsonSchema({"type": "boolean"}, mode="validation")]
"""true/false of a query string (``1/0, true/false, yes/no, on/off``)."""


def _plain_text(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)):
        raise PydanticCustomError("text", "{problem}", {"problem": problem})
    return value


# the characters refused in names and remarks (coovox.inputs), as a regex class's inside
REFUSED = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
SAFE_TEXT = f"^[^{REFUSED}]*$"
PlainText = Annotated[str, PField(pattern=SAFE_TEXT), BeforeValidator(_plain_text)]
"""Text without control or direction-changing characters (names, remarks)."""


def text(pattern: str = SAFE_TEXT, **limits: Any) -> Any:
    """:data:`PlainText` with limits (``min_length``, ``max_length``, a ``pattern`` that
    must refuse the characters of :data:`REFUSED` too, ``description``...)."""
    return Annotated[str, PField(pattern=pattern, **limits), BeforeValidator(_plain_text)]

DAY = (r"^[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
       r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$")
"""A calendar day (29 February is accepted in leap years too, not documented)."""
Day = Annotated[str, PField(pattern=DAY, examples=["2026-01-31"],
                            description="a day YYYY-MM-DD (PBX time zone)")]
ID_PARAMETER = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}

T = TypeVar("T")


class Listing(BaseModel, Generic[T]):
    """A page of a list: ``items``, ``total`` (and ``page``/``per_page`` when paged)."""

    items: list[T]
    total: int
    page: int | None = None
    per_page: int | None = None


class PageQuery(QueryModel):
    """``page`` and ``per_page`` of a paged list."""

    page: int | None = PField(None, ge=1, le=MAX_PAGE, description="page number")
    per_page: int | None = PField(None, ge=1, le=MAX_API_PER_PAGE, description="rows per page")


def list_query(name: str, spec: ListSpec | None = None, base: type[BaseModel] = PageQuery,
               **fields: Any) -> type[BaseModel]:
    """The query model of a list: ``page``/``per_page``, ``sort`` (the keys of ``spec``,
    ``-`` for descending) and each filter of ``spec`` as text, plus ``fields``
    (``name=(type, default)``)."""
    extra: dict[str, Any] = {}
    if spec is not None:
        keys = sorted(spec.sortable)
        if keys != ["default"]:
            sorts = tuple(keys + ["-" + k for k in keys])
            extra["sort"] = (Literal[sorts] | None, PField(  # type: ignore[valid-type]
                None, description="sort key; '-' first: descending"))
        for key in spec.filters:
            extra[key] = (str | None, None)
    extra.update(fields)
    return create_model(name, __base__=base, **extra)


@dataclass(frozen=True)
class Downloadable:
    """``responses={200: Downloadable(Page)}``: one page as JSON (``Page``), or every row as
    CSV/XLSX with ``format=csv|xlsx``."""

    model: type[BaseModel]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- validation --------------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "%(field)s must be text", "int_type": "%(field)s must be a whole number",
    "int_parsing": "%(field)s must be a whole number",
    "int_from_float": "%(field)s must be a whole number",
    "bool_type": "%(field)s must be true or false",
    "bool_parsing": "%(field)s must be true or false",
    "list_type": "%(field)s must be a list", "dict_type": "%(field)s must be an object",
    "model_type": "%(field)s must be an object",
    "model_attributes_type": "%(field)s must be an object",
    "float_type": "%(field)s must be a number", "float_parsing": "%(field)s must be a number",
    "none_required": "%(field)s must be null", "decimal_type": "%(field)s must be a number",
}


def problem_of(error: Mapping[str, Any], model: type[BaseModel] | None = None
               ) -> tuple[str, str]:
    """(field, message) of one pydantic error of ``model``, in the project's words."""
    loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    # the input at fault, as the services name it (a model's own rule may name it)
    field = str(ctx.get("field") or (loc[0] if loc else "body"))
    name = Field(field)
    fields = model.model_fields if model is not None else {}
    info = fields.get(loc[0]) if loc else None
    hint = (info.description or "") if info is not None else ""
    known = ", ".join(fields)
    if kind == "missing":
        return field, Msg("%(field)s is required", field=name)
    if "problem" in ctx:
        return field, Msg("%(field)s %(problem)s", field=name, problem=ctx["problem"])
    if kind in _TYPE_WORDS:
        return field, Msg(_TYPE_WORDS[kind], field=name)
    if kind in ("string_too_long", "too_long"):
        return field, Msg("%(field)s is longer than %(n)s characters", field=name,
                          n=ctx.get("max_length")) if kind == "string_too_long" else \
            Msg("%(field)s has more than %(n)s entries", field=name, n=ctx.get("max_length"))
    if kind in ("string_too_short", "too_short"):
        return field, Msg("%(field)s must not be empty", field=name)
    if kind == "string_pattern_mismatch":
        if hint:
            return field, Msg("%(field)s has the wrong form: %(hint)s", field=name, hint=hint)
        return field, Msg("%(field)s has the wrong form", field=name)
    if kind == "extra_forbidden":
        return field, Msg("unknown field; known fields: %(fields)s", fields=known)
    if kind in ("literal_error", "enum"):
        return field, Msg("%(field)s must be one of: %(choices)s", field=name,
                          choices=str(ctx.get("expected", "")).replace("'", "")
                          .replace(" or ", ", "))
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return field, Msg("%(field)s %(problem)s", field=name, problem=_bound(kind, ctx))
    return field, Msg("%(field)s %(problem)s", field=name,
                      problem=str(error.get("msg", "is not valid")))


def _bound(kind: str, ctx: Mapping[str, Any]) -> str:
    words = {"greater_than_equal": "must be at least %s", "less_than_equal":
             "must be at most %s", "greater_than": "must be greater than %s",
             "less_than": "must be less than %s"}
    value = next(iter(ctx.values()), "")
    return words[kind] % value


def refusal(exc: ValidationError, model: type[BaseModel] | None = None) -> ApiError:
    """The 400 of a refused input: the first error, naming its field."""
    errors = exc.errors(include_url=False)
    if not errors:
        return ApiError(400, "is not valid", "body")
    field, message = problem_of(errors[0], model)
    info = model.model_fields.get(field) if model is not None else None
    same = [e for e in errors if e.get("loc") and str(e["loc"][0]) == field]
    if len(same) > 1 and info is not None and info.description:  # none of a union's forms
        message = Msg("%(field)s has the wrong form: %(hint)s", field=Field(field),
                      hint=info.description)
    return ApiError(400, message, field)


def check_content_type(request: web.Request) -> None:
    """A JSON body sent as another type is a 415 (no type at all is read as JSON)."""
    if request.headers.get("Content-Type") and request.content_type not in JSON_TYPES \
            and not request.content_type.endswith("+json"):
        raise ApiError(415, f"the body must be JSON (application/json), not "
                            f"{request.content_type[:60]!r}", "body", "unsupported_media_type")


def whole_floats(value: Any) -> Any:
    """``value`` with every float that is a whole number (``3.0``) made an int: JSON has one
    number type, and ``3.0`` is an integer to JSON Schema."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: whole_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_floats(v) for v in value]
    return value


def validating(handler, body: type[BaseModel] | None, query: type[BaseModel] | None):
    """``handler`` with its input checked against the route's models first."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if query is not None:
            try:
                request[QUERY_KEY] = query.model_validate(dict(request.query))
            except ValidationError as exc:
                raise refusal(exc, query) from None
        if body is not None:
            check_content_type(request)
            data = whole_floats(await read_json(request))
            request[JSON_KEY] = data  # what read_json answers the handler from now on
            try:
                request[BODY_KEY] = body.model_validate(data)
            except ValidationError as exc:
                raise refusal(exc, body) from None
        return await handler(request)

    return wrapped
