"""Small value types that hooks receive and return (no I/O, no framework types)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

# --- roles -------------------------------------------------------------------------------

ADMIN = "admin"
BILLING = "billing"
OPERATOR = "operator"  # extensions, call log and live calls (manual 003 §7.10.1, guide 004)


@dataclass(frozen=True)
class Role:
    """A role users can have. ``admin`` may do everything."""

    name: str
    label: str


# --- storage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A Tortoise app a plugin adds: its label, models module and migrations package."""

    app_label: str
    models: str
    migrations: str


# --- web -----------------------------------------------------------------------------------

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One HTTP route.

    ``roles`` lists who may call it (``admin`` always may); an empty tuple with
    ``public=True`` opens it to anonymous users (sign-in page, static files only).
    ``api`` routes answer JSON errors and accept bearer tokens; ``openapi`` is the
    operation object for ``/api/v1/openapi.json`` (summary, parameters, requestBody...).
    ``max_body`` is the most bytes of body the route accepts (default: 1 MB for ``api``
    routes, 64 KB for forms, at most 20 MB); anonymous requests may send 16 KB at most.

    API routes declare their input and output as pydantic models (``coovox.api``'s
    ``ApiModel``, ``QueryModel``): ``body`` (the JSON body), ``query`` (the query string)
    and ``responses`` (status -> model, None for no body, or an OpenAPI response object).
    The body and query are validated before the handler runs (a refusal is a 400 naming
    the field; the models are in ``request[BODY_KEY]``/``request[QUERY_KEY]``), and the
    OpenAPI operation is built from them; ``openapi`` then adds summary, tags, prose.
    """

    method: str
    path: str
    handler: Handler
    name: str
    roles: tuple[str, ...] = (ADMIN,)
    public: bool = False
    api: bool = False
    openapi: dict[str, Any] | None = None
    max_body: int | None = None
    body: type | None = None
    query: type | None = None
    responses: Mapping[int, Any] | None = None


@dataclass(frozen=True)
class MenuItem:
    """An entry of the left menu. ``section`` groups entries; ``order`` sorts them."""

    label: str
    route: str
    roles: tuple[str, ...] = (ADMIN,)
    section: str = ""
    order: int = 100
    icon: str = ""


@dataclass(frozen=True)
class StaticDir:
    """A folder served at ``/static/<prefix>/``."""

    prefix: str
    path: Path


# --- call control ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallInfo:
    """What plugins know about a call when it is gated, answered or cut."""

    call_id: str
    extension: str
    extension_name: str
    dialed: str
    sent: str
    rule: str
    trunks: tuple[str, ...]
    started_at: datetime
    pin: str | None = None
    answered_at: datetime | None = None
    money_cap: Decimal | None = None  # the smallest money cap of the gates (see GateDecision)


@dataclass(frozen=True)
class GateDecision:
    """A plugin's answer to :func:`coovox_call_gate`.

    ``refuse`` is a short reason (``"locked"``, ``"insufficient funds"``); ``cap`` the
    longest talk time in seconds the plugin allows; ``money_cap`` the most money the call
    may cost (billing turns it into talk time at the call's rate and cuts the call at the
    unit that would pass it; a call without a rate costs nothing); ``data`` is kept for
    the plugin and handed back in :func:`coovox_call_answered` (e.g. the chosen rate).
    """

    plugin: str
    refuse: str | None = None
    cap: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    money_cap: Decimal | None = None


@dataclass(frozen=True)
class Rating:
    """The rate a number gets for an extension (billing's read API).

    A call costs ``initial_cost`` for its first ``initial_time`` seconds, then ``rate``
    for each ``unit`` seconds begun; ``price_per_minute`` is what a 60-s call costs.
    ``deck`` names the rate deck it comes from (None: a single rate).
    """

    rate: Decimal
    unit: int
    initial_cost: Decimal = Decimal(0)
    initial_time: int = 0
    remark: str = ""
    deck: str | None = None
    price_per_minute: Decimal = Decimal(0)


CallEndStatus = Literal["answered", "no answer", "busy", "failed", "refused"]


class CallControl(Protocol):
    """What plugins may ask of a call in progress (passed to call hooks)."""

    async def cut(self, call_id: str, reason: str, *, billed_until: float | None = None,
                  plugin: str = "") -> bool:
        """Hang up both legs now; ``billed_until`` is the talk time the call is billed to."""

    async def play_tone(self, call_id: str, tone: str) -> bool:
        """Play Asterisk media to the caller (``tone:!1400/500``, a tone string, or an
        indication name such as ``tone:ring``, ``sound:/abs/path``; several URIs
        comma-separated); False when not possible.  Asterisk plays a ``tone:`` until the
        call ends (even a one-shot ``!`` tone): nothing listed or played after it is heard."""

    async def play_prompt(self, call_id: str, name: str) -> bool:
        """A beep, then CooVox's voice prompt ``name`` (``low-balance``, see
        :mod:`coovox.plugins.calls.prompts`) in the configured ``prompt_language``."""

    def schedule(self, call_id: str, at_talk_seconds: float,
                 callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the call's talk time reaches ``at_talk_seconds``.

        Timers belong to the call: they are cancelled when it ends.
        """

    def talk_seconds(self, call_id: str) -> float | None:
        """Talk time so far, or None when the call is not answered or has ended."""


class Subparsers(Protocol):
    """What ``coovox_cli_commands`` receives: argparse's sub-command registry (the
    object ``ArgumentParser.add_subparsers()`` returns)."""

    def add_parser(self, name: str, **kwargs: Any) -> Any: ...
