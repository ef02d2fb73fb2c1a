"""A test plugin implementing EVERY hook of ``coovox/hookspecs.py``; it records each call.

Register it with ``PluginHost(extra=[all_hooks_plugin])``.  ``CALLS`` holds
``(hook name, arguments)`` in call order; :func:`reset` empties it.  Some hooks are
``async`` on purpose, to show the host awaits them.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from coovox.api import (
    CallInfo,
    EventType,
    GateDecision,
    MenuItem,
    ModelSpec,
    Role,
    Route,
    StaticDir,
    hookimpl,
    hookspec,
)
from coovox.hooktypes import Subparsers

PLUGIN_NAME = "allhooks"
__version__ = "0.1"
HERE = Path(__file__).parent
FEATURE = "allhooks-feature"
REFUSED_USER = "refused-user"
REFUSAL = "the all-hooks plugin refuses this user"
ROLE = "auditor"
CAP = 42.0
SHORT_CAP = 0.3  # for numbers ending in 777: the call is cut by this plugin's cap

CALLS: list[tuple[str, dict[str, Any]]] = []


def reset() -> None:
    CALLS.clear()


def calls_of(hook: str) -> list[dict[str, Any]]:
    return [args for name, args in CALLS if name == hook]


def plain(hook: str) -> list[dict[str, Any]]:
    """:func:`calls_of` without ``coovox`` (checked to be the application context)."""
    from coovox.api import Coovox

    out = []
    for args in calls_of(hook):
        args = dict(args)
        assert isinstance(args.pop("coovox"), Coovox), f"{hook} got no context"
        out.append(args)
    return out


def _record(hook: str, **args: Any) -> None:
    CALLS.append((hook, args))


# --- lifecycle -------------------------------------------------------------------------------


@hookimpl
async def coovox_startup(coovox) -> None:
    await asyncio.sleep(0)
    _record("coovox_startup", coovox=coovox)


@hookimpl
async def coovox_shutdown(coovox) -> None:
    from tests.support.all_hooks_models import HookNote

    await HookNote.create(text="written during shutdown")  # the database is still open
    _record("coovox_shutdown", coovox=coovox)


# --- own hookspecs ----------------------------------------------------------------------------


class Specs:
    """A hook this plugin declares for other plugins (``coovox_add_hookspecs``)."""

    @staticmethod
    @hookspec
    def allhooks_noted(coovox, text: str) -> str | None:
        """Told what the all-hooks plugin noted; may answer a reply."""


@hookimpl
def coovox_add_hookspecs() -> list[object]:
    _record("coovox_add_hookspecs")
    return [Specs]


@hookimpl
def allhooks_noted(coovox, text: str) -> str:
    _record("allhooks_noted", coovox=coovox, text=text)
    return f"noted: {text}"


# --- storage -----------------------------------------------------------------------------------


@hookimpl
def coovox_models(coovox) -> ModelSpec:
    _record("coovox_models")
    return ModelSpec("allhooks", "tests.support.all_hooks_models",
                     "tests.support.all_hooks_migrations")


# --- web ----------------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("allhooks/page.html", request, {})


async def api_notes(request: web.Request) -> web.Response:
    from tests.support.all_hooks_models import HookNote

    return web.json_response({"items": await HookNote.all().values_list("text", flat=True)})


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    _record("coovox_routes", coovox=coovox)
    return [
        Route("GET", "/allhooks", page, "allhooks_page", roles=(ROLE,)),
        Route("GET", "/api/v1/allhooks/notes", api_notes, "allhooks_notes", roles=(ROLE,),
              api=True, openapi={"summary": "Notes of the all-hooks plugin",
                                 "tags": ["allhooks"]}),
    ]


@hookimpl
def coovox_menu_items(coovox) -> list[MenuItem]:
    _record("coovox_menu_items")
    return [MenuItem("All hooks", "allhooks_page", roles=(ROLE,), section="Addons", order=5)]


@hookimpl
def coovox_template_dirs(coovox) -> list[Path]:
    _record("coovox_template_dirs")
    return [HERE / "all_hooks_templates"]


@hookimpl
def coovox_static_dirs(coovox) -> list[StaticDir]:
    _record("coovox_static_dirs")
    return [StaticDir("allhooks", HERE / "all_hooks_static")]


@hookimpl
def coovox_locale_dirs(coovox) -> list[Path]:
    _record("coovox_locale_dirs")
    return [HERE / "all_hooks_locale"]


@hookimpl
def coovox_roles(coovox) -> list[Role]:
    _record("coovox_roles")
    return [Role(ROLE, "Auditor")]


@hookimpl
def coovox_sign_in_refusal(coovox, username: str, role: str) -> str | None:
    _record("coovox_sign_in_refusal", coovox=coovox, username=username, role=role)
    return REFUSAL if username == REFUSED_USER else None


# --- features ------------------------------------------------------------------------------------


@hookimpl
def coovox_feature_licence(coovox, feature: str) -> dict[str, Any] | None:
    _record("coovox_feature_licence", coovox=coovox, feature=feature)
    if feature != FEATURE:
        return None
    return {"usable": True, "first_activation": None, "expires_at": None,
            "licence_uploaded": False, "device_id": "test-device"}


@hookimpl
def coovox_feature_activate(coovox, feature: str, active: bool) -> str | None:
    _record("coovox_feature_activate", coovox=coovox, feature=feature, active=active)
    if feature == FEATURE and active:
        return "the all-hooks feature cannot be switched on"
    return None


# --- call control -----------------------------------------------------------------------------------


@hookimpl
async def coovox_call_gate(coovox, call: CallInfo) -> GateDecision | None:
    _record("coovox_call_gate", coovox=coovox, call=call)
    if call.dialed.endswith("666"):
        return GateDecision(PLUGIN_NAME, refuse="number barred by allhooks")
    if call.dialed.endswith("777"):
        return GateDecision(PLUGIN_NAME, cap=SHORT_CAP, data={"seen": call.call_id})
    return GateDecision(PLUGIN_NAME, cap=CAP, data={"seen": call.call_id})


@hookimpl
async def coovox_call_answered(coovox, call: CallInfo, control, decision: GateDecision | None,
                               resumed: bool) -> None:
    _record("coovox_call_answered", coovox=coovox, call=call, control=control,
            decision=decision, resumed=resumed, talk=control.talk_seconds(call.call_id))


@hookimpl
def coovox_call_cut(coovox, call: CallInfo, reason: str, plugin: str) -> None:
    _record("coovox_call_cut", coovox=coovox, call=call, reason=reason, plugin=plugin)


@hookimpl
async def coovox_call_ended(coovox, call: CallInfo, record: dict[str, Any]) -> None:
    _record("coovox_call_ended", coovox=coovox, call=call, record=record)


@hookimpl
def coovox_call_fields(coovox, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    _record("coovox_call_fields", coovox=coovox, call_ids=call_ids)
    return {cid: {"allhooks_tag": f"tag-{cid}"} for cid in call_ids}


# --- command line --------------------------------------------------------------------------------------


async def cmd_hello(coovox, args: argparse.Namespace) -> int:
    from tests.support.all_hooks_models import HookNote

    await HookNote.create(text=f"hello {args.name}")
    print(f"hello {args.name} from allhooks")
    return 0


@hookimpl
def coovox_cli_commands(subparsers: Subparsers) -> None:
    _record("coovox_cli_commands", subparsers=subparsers)
    p = subparsers.add_parser("allhooks-hello", help="say hello (test plugin)")
    p.add_argument("--name", default="world")
    p.set_defaults(handler=cmd_hello)


# --- events ---------------------------------------------------------------------------------

EVENT = EventType("allhooks.noted", ("text",), "the all-hooks plugin noted something",
                  PLUGIN_NAME)


@hookimpl
def coovox_event_types(coovox) -> list[EventType]:
    _record("coovox_event_types", coovox=coovox)
    return [EVENT]



@hookimpl
async def coovox_event(coovox, event) -> None:
    await asyncio.sleep(0)
    _record("coovox_event", coovox=coovox, event=event)
