"""The Bulk add form of the Extensions page (manual 003 §4.1.2 批量添加)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from coovox.plugins.outbound import bulk
from coovox.plugins.outbound.models import DialPermission
from coovox.plugins.outbound.pages import FormField, PageSpec, error_at, flash, load_choices
from coovox.plugins.outbound.rules import ConfigError
from coovox.web.i18n import gettext as _

METHOD_CHOICES = ((bulk.INCREMENT, "Increase by 1"), (bulk.SAME, "Same for all"))
START_HELP = "empty = none"
SPEC = PageSpec(
    "extensions", "extension", "Extensions", "Extensions", (),
    (FormField("start", "Start extension", required=True,
               help="e.g. 1050 with count 10 adds 1050 to 1059"),
     FormField("count", "Count", "number", required=True, help="1 to 1000"),
     FormField("caller_id1_start", "Start outbound caller ID 1", help=START_HELP),
     FormField("caller_id1_method", "Calculation 1", "choice", METHOD_CHOICES,
               help="increase by 1: the next extension gets the next number"),
     FormField("caller_id2_start", "Start outbound caller ID 2", help=START_HELP),
     FormField("caller_id2_method", "Calculation 2", "choice", METHOD_CHOICES),
     FormField("dial_permission", "Dial permission", "select", DialPermission, required=True),
     FormField("enabled", "Enabled", "checkbox")))


async def _render(request: web.Request, values: dict[str, Any], errors: dict[str, str],
                  status: int = 200) -> web.Response:
    context = {"spec": SPEC, "values": values, "key": None, "errors": errors,
               "choices": await load_choices(SPEC), "days": (), "title": _("Bulk add"),
               "heading": _("Bulk add")}
    return aiohttp_jinja2.render_template("calls/config_form.html", request, context,
                                          status=status)


async def bulk_form(request: web.Request) -> web.Response:
    return await _render(request, {"count": 10, "enabled": True,
                                   "dial_permission": "DialPlan1"}, {})


async def bulk_post(request: web.Request) -> web.Response:
    form = await request.post()
    data: dict[str, Any] = {f.name: str(form.get(f.name, "")) for f in SPEC.fields
                            if f.kind != "checkbox"}
    data["enabled"] = "enabled" in form
    try:
        added = await bulk.bulk_add(data)
    except ConfigError as exc:
        return await _render(request, data, error_at(exc, SPEC), status=exc.status)
    await flash(request, "ok", _("Added %(count)s extensions: %(first)s to %(last)s.",
                                 count=len(added), first=added[0], last=added[-1]))
    raise web.HTTPFound(request.app.router[SPEC.route].url_for())
