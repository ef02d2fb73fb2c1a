"""Addons → Billing → Settings (administrators): activation, licence, Billing Manager."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from coovox.hooktypes import ADMIN, MenuItem, Route
from coovox.models import User
from coovox.plugins.billing import notify, services
from coovox.plugins.billing.pages import flash, pop_flashes
from coovox.plugins.billing.validation import BillingError
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY
from coovox.web.security import current_user


def _has_template(request: web.Request, name: str) -> bool:
    env = aiohttp_jinja2.get_env(request.app)
    try:
        env.get_template(name)
    except Exception:
        return False
    return True


def _has_route(request: web.Request, name: str) -> bool:
    return name in request.app.router.named_resources()


async def addons_page(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    licence = await coovox.plugins.afirst("coovox_feature_licence", feature="billing")
    users = await User.filter(role="billing").order_by("username")
    return aiohttp_jinja2.render_template("billing/addons.html", request, {
        "settings": await services.get_settings(), "licence": licence, "feature": "billing",
        "users": users, "flashes": await pop_flashes(request),
        "has_panel": licence is not None and _has_template(request,
                                                           "licensing/feature_panel.html"),
        "has_users_page": _has_route(request, "users"),
        "has_users_create": _has_route(request, "users_create"),
    })


async def addons_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    active = form.get("active", "off")
    try:
        await services.update_settings({"active": active},
                                        request.app[COOVOX_KEY].plugins)
    except BillingError as exc:
        await flash(request, "error", exc.message)
    else:
        user = current_user(request)
        notify.settings_saved(request.app[COOVOX_KEY], ["active"], user.username if user else "")
        await flash(request, "ok", _("Settings saved."))
    raise web.HTTPSeeOther(str(request.app.router["billing_addons"].url_for()))


def routes() -> list[Route]:
    return [
        Route("GET", "/addons/billing/settings", addons_page, "billing_addons", roles=(ADMIN,)),
        Route("POST", "/addons/billing/settings", addons_post, "billing_addons_post",
              roles=(ADMIN,)),
    ]


def menu_items() -> list[MenuItem]:
    return [MenuItem("Billing", "billing_addons", roles=(ADMIN,), section="Addons", order=10)]
