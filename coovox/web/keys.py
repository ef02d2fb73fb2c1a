"""Typed application keys shared by the web modules."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from coovox.hooktypes import MenuItem, Route

if TYPE_CHECKING:
    from coovox.context import Coovox
    from coovox.web.throttle import SignInThrottle

COOVOX_KEY: web.AppKey[Coovox] = web.AppKey("coovox")
ROUTES_KEY: web.AppKey[dict[str, Route]] = web.AppKey("routes")
ROUTE_PLUGIN_KEY: web.AppKey[dict[str, str]] = web.AppKey("route_plugin")
MENU_KEY: web.AppKey[list[MenuItem]] = web.AppKey("menu")
THROTTLE_KEY: web.AppKey[SignInThrottle] = web.AppKey("sign_in_throttle")
# set when the web server shuts down: long answers (server-sent events) end at once
STOPPING_KEY: web.AppKey[asyncio.Event] = web.AppKey("stopping", asyncio.Event)

# per request: the reader's language; who signed in (or tried) and a note, for the web log
LANG_KEY: web.RequestKey[str] = web.RequestKey("lang", str)
WEBLOG_USER_KEY: web.RequestKey[tuple[str, str]] = web.RequestKey("weblog_user", tuple)
WEBLOG_NOTE_KEY: web.RequestKey[str] = web.RequestKey("weblog_note", str)
# per request, set by routes declared with models (coovox.web.schema): the validated body and
# query models, and the parsed JSON body (read_json answers it from then on)
BODY_KEY: web.RequestKey[object] = web.RequestKey("body", object)
QUERY_KEY: web.RequestKey[object] = web.RequestKey("query", object)
JSON_KEY: web.RequestKey[object] = web.RequestKey("json_body", object)
