"""The built-in ``web`` plugin: core tables, sign-in, accounts, tokens, web log (wiring only)."""

from __future__ import annotations

from pathlib import Path

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, OPERATOR, MenuItem, ModelSpec, Role, Route
from coovox.web import accounts, openapi, sessions, tokens, views, weblog
from coovox.web import api_models as m
from coovox.web.schema import Error

HERE = Path(__file__).parent
ANY = ("*",)


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("core", "coovox.models", "coovox.migrations")


@hookimpl
def coovox_roles() -> list[Role]:
    return [Role(ADMIN, "Administrator"), Role(OPERATOR, "Operator")]


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [
        Route("GET", "/sign-in", views.sign_in_page, "sign_in", public=True),
        Route("POST", "/sign-in", views.sign_in, "sign_in_post", public=True),
        Route("POST", "/sign-out", views.sign_out, "sign_out", public=True),
        Route("POST", "/language", views.set_language, "language", public=True),
        Route("GET", "/healthz", views.healthz, "healthz", public=True),
        Route("GET", "/", views.home, "home", roles=ANY),
        Route("GET", "/plugins", views.plugins_page, "plugins"),
        Route("POST", "/plugins/{name}", views.plugin_toggle, "plugin_toggle"),
        Route("GET", "/api/v1/plugins", views.api_plugins, "api_plugins", api=True,
              responses={200: m.PluginList},
              openapi={"summary": "Installed plugins", "tags": ["plugins"]}),
        Route("PATCH", "/api/v1/plugins/{name}", views.api_plugin_patch, "api_plugin",
              api=True, body=m.PluginPatch, responses={200: m.Plugin, 404: Error, 409: Error},
              openapi={"summary": "Enable or disable a plugin (409: an essential one)",
                       "tags": ["plugins"]}),
        # accounts
        Route("GET", "/users", accounts.users_page, "users"),
        Route("POST", "/users", accounts.users_create, "users_create"),
        Route("POST", "/users/{name}/password", accounts.users_password, "users_password"),
        Route("POST", "/users/{name}/delete", accounts.users_delete, "users_delete"),
        Route("GET", "/account/password", accounts.own_password_page, "account_password",
              roles=ANY),
        Route("POST", "/account/password", accounts.own_password_change,
              "account_password_post", roles=ANY),
        # web sessions: one's own, and an administrator's "sign out everywhere"
        Route("GET", "/account/sessions", sessions.own_sessions_page, "account_sessions",
              roles=ANY),
        Route("POST", "/account/sessions/end-others", sessions.own_sessions_end_others,
              "account_sessions_end_others", roles=ANY),
        Route("POST", "/account/sessions/{id:\\d+}/end", sessions.own_session_end,
              "account_session_end", roles=ANY),
        Route("POST", "/users/{name}/sessions/end", sessions.users_sign_out_everywhere,
              "users_sign_out_everywhere"),
        Route("GET", "/api/v1/users/{name}/sessions", sessions.api_user_sessions,
              "api_user_sessions", api=True, responses={200: m.Sessions, 404: Error},
              openapi=sessions.OPENAPI["list"]),
        Route("DELETE", "/api/v1/users/{name}/sessions", sessions.api_user_sessions_end,
              "api_user_sessions_end", api=True, responses={204: None, 404: Error},
              openapi=sessions.OPENAPI["end"]),
        Route("GET", "/api/v1/users", accounts.api_users, "api_users", api=True,
              query=m.users_query(accounts.USERS), responses={200: m.UserList},
              openapi=accounts.OPENAPI["list"]),
        Route("POST", "/api/v1/users", accounts.api_users_create, "api_users_create", api=True,
              body=m.user_create(_offered_roles(coovox)), responses={201: m.NewUser, 409: Error},
              openapi=accounts.OPENAPI["create"]),
        Route("DELETE", "/api/v1/users/{name}", accounts.api_users_delete, "api_users_delete",
              api=True, responses={204: None, 403: Error, 404: Error},
              openapi=accounts.OPENAPI["delete"]),
        Route("PUT", "/api/v1/users/{name}/password", accounts.api_users_password,
              "api_users_password", api=True, body=m.PasswordChange,
              responses={204: None, 404: Error}, openapi=accounts.OPENAPI["password"]),
        # API tokens
        Route("GET", "/tokens", tokens.tokens_page, "tokens"),
        Route("POST", "/tokens", tokens.tokens_create, "tokens_create"),
        Route("POST", "/tokens/{id}/revoke", tokens.tokens_revoke, "tokens_revoke"),
        Route("GET", "/api/v1/tokens", tokens.api_tokens, "api_tokens", api=True,
              query=m.tokens_query(tokens.TOKENS), responses={200: m.TokenList},
              openapi=tokens.OPENAPI["list"]),
        Route("POST", "/api/v1/tokens", tokens.api_tokens_create, "api_tokens_create",
              api=True, body=m.TokenCreate, responses={201: m.NewToken, 404: Error},
              openapi=tokens.OPENAPI["create"]),
        Route("DELETE", "/api/v1/tokens/{id}", tokens.api_tokens_delete, "api_tokens_delete",
              api=True, responses={204: None, 404: Error}, openapi=tokens.OPENAPI["delete"]),
        Route("GET", "/api/v1/openapi.json", openapi.openapi_json, "openapi", roles=ANY,
              api=True, responses={200: {"description": "this document", "content": {
                  "application/json": {"schema": {"type": "object"}}}}},
              openapi={"summary": "This OpenAPI document", "tags": ["system"]}),
        # web log
        Route("GET", "/weblog", weblog.weblog_page, "weblog"),
        Route("POST", "/weblog/settings", weblog.weblog_settings_post, "weblog_settings"),
        Route("GET", "/api/v1/weblog/settings", weblog.api_weblog_settings,
              "api_weblog_settings", api=True, responses={200: m.WeblogSettings},
              openapi=weblog.OPENAPI_SETTINGS["get"]),
        Route("PATCH", "/api/v1/weblog/settings", weblog.api_weblog_settings_patch,
              "api_weblog_settings_patch", api=True, body=m.WeblogSettingsPatch,
              responses={200: m.WeblogSettings}, openapi=weblog.OPENAPI_SETTINGS["patch"]),
        Route("GET", "/api/v1/weblog", weblog.api_weblog, "api_weblog", api=True,
              query=m.weblog_query(weblog.weblog_spec("UTC")), responses={200: m.WeblogList},
              openapi=weblog.OPENAPI),
    ]


def _offered_roles(coovox) -> list[str]:
    """The roles an administrator gives new users (every declared role but admin)."""
    if coovox is None:
        return []
    from coovox.web.app import known_roles

    return sorted(n for n in known_roles(coovox) if n != ADMIN)


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [
        MenuItem("Overview", "home", roles=(ADMIN, OPERATOR), section="", order=0),
        MenuItem("Accounts", "users", section="System", order=80),
        MenuItem("API tokens", "tokens", section="System", order=85),
        MenuItem("Plugins", "plugins", section="System", order=90),
        MenuItem("Web log", "weblog", section="System", order=95),
    ]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]
