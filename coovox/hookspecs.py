"""Every hook a CooVox plugin may implement (import them from :mod:`coovox.api`).

Implement a hook with ``@hookimpl`` on a module-level function (or method) of the same
name, naming only the arguments you need (pluggy passes those).  Every hook but
``coovox_add_hookspecs`` and ``coovox_cli_commands`` (called before the application
exists) receives ``coovox``, the application context.  How hooks are called (order,
errors, async, disabled plugins) is the rule of :mod:`coovox.plugin_host`.

Each hook is documented in ``docs/plugin-hooks.md``; a test fails when one is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from coovox.context import Coovox
    from coovox.events import Event, EventType
    from coovox.hooktypes import (
        CallControl,
        CallInfo,
        GateDecision,
        MenuItem,
        ModelSpec,
        Role,
        Route,
        StaticDir,
        Subparsers,
    )

hookspec = pluggy.HookspecMarker("coovox")
hookimpl = pluggy.HookimplMarker("coovox")

# --- lifecycle ----------------------------------------------------------------------------


@hookspec
def coovox_startup(coovox: Coovox) -> None:
    """Called once after the database is ready and before calls are accepted.

    Receives the application context (configuration, plugin host, database ready).
    Built-in plugins start first, so the core's services (``services["calls"]``,
    ``services["billing"]``...) exist when a third-party start-up runs; calls are taken
    only once every plugin has started.  May be async.  Returns nothing.  Every enabled
    plugin is called; an exception stops start-up with the plugin named.
    """


@hookspec
def coovox_shutdown(coovox: Coovox) -> None:
    """Called once when the process stops (SIGINT/SIGTERM), before the database closes.

    Third-party plugins first, then the built-in ones.  May be async; finish in-flight
    writes here.  Returns nothing.  Exceptions are logged and do not stop the other
    plugins' shutdown.
    """


@hookspec
def coovox_add_hookspecs() -> list[object] | None:
    """Hookspecs this plugin adds for other plugins to implement: modules or classes whose
    functions are marked with ``coovox.api.hookspec``.

    Read from every installed plugin when the plugin host is built (before the
    application exists, so no context).  Call them with ``coovox.plugins.acall_each``.
    """


# --- storage -------------------------------------------------------------------------------


@hookspec
def coovox_models(coovox: Coovox) -> ModelSpec | None:
    """The Tortoise app this plugin adds: label, models module, migrations package.

    Called for every installed plugin, enabled or not, so that disabling a plugin never
    drops its tables.  Returns one :class:`~coovox.hooktypes.ModelSpec` or ``None``.
    """


# --- web -------------------------------------------------------------------------------------


@hookspec
def coovox_routes(coovox: Coovox) -> list[Route] | None:
    """HTTP routes (pages and ``/api/v1`` JSON) this plugin serves.

    Returns a list of :class:`~coovox.hooktypes.Route`; each names the roles allowed.
    Routes of a disabled plugin answer 404.  Route names must be unique across plugins.
    """


@hookspec
def coovox_menu_items(coovox: Coovox) -> list[MenuItem] | None:
    """Entries for the left menu; the layout shows those whose roles match the user.

    Returns a list of :class:`~coovox.hooktypes.MenuItem`, sorted by ``(section, order)``.
    """


@hookspec
def coovox_template_dirs(coovox: Coovox) -> list[Path] | None:
    """Folders of jinja2 templates, searched after the core's ``coovox/web/templates``.

    Name templates after the plugin (``billing/rates.html``) to avoid clashes.
    """


@hookspec
def coovox_static_dirs(coovox: Coovox) -> list[StaticDir] | None:
    """Folders of static files, each served at ``/static/<prefix>/`` to everyone."""


@hookspec
def coovox_locale_dirs(coovox: Coovox) -> list[Path] | None:
    """Folders holding ``<lang>.po`` catalogs (e.g. ``zh_CN.po``) for this plugin's texts.

    Catalogs of all plugins are merged; the core's wins on a clash.
    """


@hookspec
def coovox_roles(coovox: Coovox) -> list[Role] | None:
    """Roles this plugin introduces (the core has ``admin``; billing adds ``billing``).

    Called for every installed plugin when the web app is built.  A route naming a role
    that no plugin declares stops start-up (a typo would otherwise lock everyone out).
    """


@hookspec(firstresult=True)
def coovox_sign_in_refusal(coovox: Coovox, username: str, role: str) -> str | None:
    """A reason to refuse a user's sign-in after the password was right, or ``None``.

    ``firstresult``: the first non-``None`` answer refuses, and is shown on the sign-in
    page (licensing: "the billing trial has expired").  Only asked after a correct password.
    """


# --- features and licensing ----------------------------------------------------------------


@hookspec(firstresult=True)
def coovox_feature_licence(coovox: Coovox, feature: str) -> dict[str, Any] | None:
    """Licence state of a named feature, or ``None`` when no plugin licenses it.

    ``firstresult``.  The answer is a dict with ``usable`` (bool: trial running or
    licensed), ``first_activation``, ``expires_at`` (``None`` for never),
    ``licence_uploaded`` and ``device_id``.
    """


@hookspec(firstresult=True)
def coovox_feature_activate(coovox: Coovox, feature: str, active: bool) -> str | None:
    """Asked before a feature is switched on or off; a refusal message or ``None``.

    ``firstresult``.  Licensing records the first activation here and refuses
    activation after an expired trial without a licence.
    """


# --- call control ----------------------------------------------------------------------------


@hookspec
def coovox_call_gate(coovox: Coovox, call: CallInfo) -> GateDecision | None:
    """Decide, before the trunk is dialled, whether a call may go out and for how long.

    Every enabled plugin is asked; returns a :class:`~coovox.hooktypes.GateDecision`
    or ``None`` (no opinion).  Any refusal wins (the first refusal's reason is recorded);
    among caps (seconds, money) the smallest wins.  A plugin that raises refuses the call.
    May be async; keep it fast, it is on the call path.
    """


@hookspec
def coovox_call_answered(
    coovox: Coovox, call: CallInfo, control: CallControl, decision: GateDecision | None,
    resumed: bool,
) -> None:
    """Called when the far end answers and both legs are bridged.

    ``decision`` is this plugin's own answer from :func:`coovox_call_gate` (``None`` if
    it gave none).  ``control`` lets the plugin schedule timers on the call's talk time,
    play tones and cut the call.  ``resumed`` is true when the call is being resumed after
    a restart or reconnect (talk time already running).  May be async.
    """


@hookspec
def coovox_call_cut(coovox: Coovox, call: CallInfo, reason: str, plugin: str) -> None:
    """Told when a call is being cut by a cap or by a plugin's request.

    ``plugin`` names who asked (``"core"`` for the rule's time limit).  Called before
    the legs are hung up.  Returns nothing.
    """


@hookspec
def coovox_call_ended(coovox: Coovox, call: CallInfo, record: dict[str, Any]) -> None:
    """Called once per call attempt after its record is written.

    ``record`` is the call-log row as the JSON API shows it (status, reason, times,
    ``talk_time`` in seconds, ``billed_talk_time``).  May be async; billing settles the
    call's cost here.  Exceptions are logged; the record is already safe.  A process
    killed between the record and this hook does not call it again after a restart: a
    plugin that must act on every end reconciles from the call log (billing's sweep does).
    """


@hookspec
def coovox_call_fields(coovox: Coovox, call_ids: list[str]
                       ) -> dict[str, dict[str, Any]] | None:
    """Extra fields for call-log rows, keyed by call id (billing adds ``cost``).

    Called for each page of the call log and for live calls; may be async.  The host
    merges the dicts of all plugins.
    """


# --- events ----------------------------------------------------------------------------------


@hookspec
def coovox_event_types(coovox: Coovox) -> list[EventType] | None:
    """The events this plugin publishes: :class:`~coovox.events.EventType` (name, fields,
    meaning).  Read from every installed plugin when the event bus starts; the core's
    events are in ``coovox.events.CORE_EVENTS``.  A name may be declared once.
    """


@hookspec
def coovox_event(coovox: Coovox, event: Event) -> None:
    """Hear an event some plugin published with ``coovox.publish(name, **data)``.

    Called for every event, in order of publication, from one background task: never on
    the publisher's path, so a slow implementation delays only later events, not calls.
    Returns nothing; may be async; an exception is logged and the other plugins still
    hear the event.  Filter on ``event.name`` (e.g. ``fraud.tripped``).
    """


# --- command line ------------------------------------------------------------------------------


@hookspec
def coovox_cli_commands(subparsers: Subparsers) -> None:
    """Add sub-commands to ``coovox``.

    Call ``subparsers.add_parser(...)`` and ``set_defaults(handler=fn)`` where
    ``fn(coovox, args) -> int`` may be async; the CLI opens the database first.
    """
