"""The public plugin API of CooVox: the ONE module a plugin imports from ``coovox``.

Everything a plugin needs is re-exported here and documented in ``docs/plugin-hooks.md``
(and ``docs/tutorial-first-plugin.md``).  What is not here is internal and may change
without notice; a test fails when an example plugin imports anything else of ``coovox``.

- hooks: :data:`hookimpl` to implement one, :data:`hookspec` to declare your own (return
  them from ``coovox_add_hookspecs``);
- the application context :class:`Coovox` (every hook receives it as ``coovox``) and
  :class:`PluginError`;
- hook value types: :class:`Route`, :class:`MenuItem`, :class:`Role`, :class:`ModelSpec`,
  :class:`StaticDir`, :class:`CallInfo`, :class:`GateDecision`, :class:`CallControl`,
  :class:`Rating`; roles :data:`ADMIN`, :data:`BILLING`, :data:`OPERATOR`;
- events: :class:`Event`, :class:`EventType`, :data:`CORE_EVENTS` (publish with
  ``coovox.publish(name, source, **data)``, hear with ``coovox_event``);
- billing's read API: :class:`BillingReader`, at ``coovox.services["billing"]`` (absent
  while billing is not started);
- helpers for pages and settings: :func:`get_setting`/:func:`set_setting`,
  :class:`ApiError`/:func:`read_json` (JSON API errors), :func:`gettext` (``_``),
  :class:`Msg`/:class:`Field`/:func:`translate`/:func:`register_labels` (translatable
  messages naming a field by its label), :data:`COOVOX_KEY` (the context in
  a request: ``request.app[COOVOX_KEY]``), :func:`local_datetime`, :func:`money_text`,
  :func:`safe_url` (a URL with its password masked), :class:`CommandError`;
- API schemas (``Route(body=, query=, responses=)``): :class:`ApiModel`,
  :class:`QueryModel`, :class:`PageQuery`, :func:`list_query`, :class:`Listing`,
  :class:`Error`, the field types :data:`Money`, :data:`NonNegativeMoney`,
  :data:`PositiveMoney`, :data:`NonZeroMoney`, :data:`MoneyText`, :data:`Flag`, :data:`PlainText`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from coovox.cli import CommandError
from coovox.context import Coovox
from coovox.events import CORE_EVENTS, Event, EventType
from coovox.hookspecs import hookimpl, hookspec
from coovox.hooktypes import (
    ADMIN,
    BILLING,
    OPERATOR,
    CallControl,
    CallEndStatus,
    CallInfo,
    GateDecision,
    Handler,
    MenuItem,
    ModelSpec,
    Rating,
    Role,
    Route,
    StaticDir,
    Subparsers,
)
from coovox.messages import Field, Msg, register_labels
from coovox.models import get_setting, set_setting
from coovox.plugin_host import PluginError
from coovox.storage.db import safe_url
from coovox.web.errors import ApiError, read_json
from coovox.web.formats import local_datetime, money_text
from coovox.web.i18n import gettext, translate
from coovox.web.keys import BODY_KEY, COOVOX_KEY, QUERY_KEY
from coovox.web.schema import (
    ApiModel,
    Error,
    Flag,
    Listing,
    Money,
    MoneyText,
    NonNegativeMoney,
    NonZeroMoney,
    PageQuery,
    PlainText,
    PositiveMoney,
    QueryModel,
    list_query,
)


@runtime_checkable
class BillingReader(Protocol):
    """Billing's read API, ``coovox.services["billing"]``: money as ``Decimal``."""

    async def balance(self, extension: str) -> Decimal | None:
        """The balance of an extension (None: it has no billing account)."""

    async def available(self, extension: str) -> Decimal | None:
        """Balance plus credit: what its calls may still spend (None: no account)."""

    async def spend(self, extension: str, start: date, end: date) -> Decimal:
        """What its calls cost on the PBX-local dates ``start``..``end`` (inclusive),
        plus what its calls still running have been charged."""

    async def rating(self, extension: str, number: str,
                     at: datetime | None = None) -> Rating | None:
        """The rate (and price per minute) a call to ``number`` would get (None: unrated)."""

    def cost(self, rating: Rating, seconds: float) -> Decimal:
        """What a call of ``seconds`` talk time costs at ``rating``."""

    def talk_time_for(self, rating: Rating, money: Decimal) -> float | None:
        """The talk time ``money`` buys at ``rating`` (None: unlimited)."""


__all__ = [
    "ADMIN", "BILLING", "BODY_KEY", "COOVOX_KEY", "QUERY_KEY", "CORE_EVENTS", "OPERATOR", "ApiError", "ApiModel",
    "BillingReader", "Error", "Flag", "Listing", "Money", "MoneyText", "NonNegativeMoney",
    "NonZeroMoney", "PageQuery", "PositiveMoney", "PlainText", "QueryModel", "list_query",
    "CallControl", "CallEndStatus", "CallInfo", "CommandError", "Coovox", "Event",
    "EventType", "Field", "GateDecision", "Handler", "MenuItem", "ModelSpec", "Msg",
    "PluginError", "Rating", "Role", "Route", "StaticDir", "Subparsers", "get_setting", "gettext",
    "hookimpl", "hookspec", "local_datetime", "money_text", "read_json", "safe_url",
    "register_labels", "set_setting", "translate",
]
