"""The built-in ``billing`` plugin (wiring only)."""

from __future__ import annotations

from pathlib import Path

from coovox.events import EventType
from coovox.hookspecs import hookimpl
from coovox.hooktypes import BILLING, MenuItem, ModelSpec, Role, Route, StaticDir
from coovox.plugins.billing.stasis import (  # noqa: F401  (hook implementations)
    coovox_call_answered,
    coovox_call_cut,
    coovox_call_ended,
    coovox_call_fields,
    coovox_call_gate,
)

HERE = Path(__file__).parent


@hookimpl
def coovox_roles() -> list[Role]:
    return [Role(BILLING, "Billing user")]


@hookimpl
def coovox_event_types(coovox) -> list[EventType]:
    return [EventType(
        "fraud.tripped", ("extension", "reason", "action"),
        "a fraud-guard threshold tripped for an extension: reason is the limit "
        "(spend per hour, spend per day, blocked attempts), action what was done (lock, refuse, "
        "alert)",
        "billing")]


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("billing", "coovox.plugins.billing.models",
                     "coovox.plugins.billing.migrations")


@hookimpl
def coovox_startup(coovox) -> None:
    from coovox.plugins.billing import export_sql, stasis
    from coovox.plugins.billing.recovery import Sweeper

    stasis.start(coovox)
    # its call-log fields in SQL, per plugin (the exports the database or the worker reads)
    coovox.services.setdefault("call_fields_sql", {})["billing"] = export_sql.call_fields_sql
    # calls finished but never settled (a crash between the two): settled by a sweep
    sweeper = Sweeper(stasis.meter(), coovox.now, lambda: coovox.plugins.is_enabled("billing"))
    coovox.services["billing_sweeper"] = sweeper
    coovox.when_started(sweeper.start)


@hookimpl
async def coovox_shutdown(coovox) -> None:
    sweeper = coovox.services.pop("billing_sweeper", None)
    if sweeper is not None:
        await sweeper.stop()


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    from coovox.plugins.billing import (
        api,
        deck_api,
        fraud_api,
        pages,
        pages_admin,
        pages_deck,
        pages_fraud,
    )

    return [*pages.routes(), *pages_admin.routes(), *api.routes(), *deck_api.routes(),
            *pages_deck.routes(), *fraud_api.routes(), *pages_fraud.routes()]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    from coovox.plugins.billing import pages, pages_admin, pages_fraud

    return [*pages.menu_items(), *pages_admin.menu_items(), *pages_fraud.menu_items()]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def coovox_cli_commands(subparsers) -> None:
    from coovox.plugins.billing.check import add_command

    add_command(subparsers)


@hookimpl
def coovox_static_dirs() -> list[StaticDir]:
    return [StaticDir("billing", HERE / "static")]
