"""The built-in ``web`` plugin: core tables, sign-in, overview, health, plugins (wiring only)."""

from __future__ import annotations

from pathlib import Path

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, MenuItem, ModelSpec, Role, Route
from coovox.web import views

HERE = Path(__file__).parent


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("core", "coovox.models", "coovox.migrations")


@hookimpl
def coovox_roles() -> list[Role]:
    return [Role(ADMIN, "Administrator")]


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [
        Route("GET", "/sign-in", views.sign_in_page, "sign_in", public=True),
        Route("POST", "/sign-in", views.sign_in, "sign_in_post", public=True),
        Route("POST", "/sign-out", views.sign_out, "sign_out", public=True),
        Route("POST", "/language", views.set_language, "language", public=True),
        Route("GET", "/healthz", views.healthz, "healthz", public=True),
        Route("GET", "/", views.home, "home", roles=("*",)),
        Route("GET", "/plugins", views.plugins_page, "plugins"),
        Route("POST", "/plugins/{name}", views.plugin_toggle, "plugin_toggle"),
        Route("GET", "/api/v1/plugins", views.api_plugins, "api_plugins", api=True,
              openapi={"summary": "Installed plugins", "tags": ["plugins"]}),
        Route("PATCH", "/api/v1/plugins/{name}", views.api_plugin_patch, "api_plugin",
              api=True, openapi={"summary": "Enable or disable a plugin", "tags": ["plugins"]}),
    ]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [
        MenuItem("Overview", "home", section="", order=0),
        MenuItem("Plugins", "plugins", section="System", order=90),
    ]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]
