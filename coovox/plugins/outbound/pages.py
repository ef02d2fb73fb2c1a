"""Administrator pages of the outbound configuration: one list and one form per kind.

Extensions, trunks, dial rules, dial permissions and PIN sets share the generic handlers
below; a :class:`PageSpec` says which columns, filters and form fields each kind shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from multidict import MultiDictProxy

from coovox.plugins.outbound import services as svc
from coovox.plugins.outbound.lists import LIST_SPECS
from coovox.plugins.outbound.models import DialPermission, DialRule, PinSet, Trunk
from coovox.plugins.outbound.services import ConfigError, Kind
from coovox.web.i18n import error_text, translate
from coovox.web.i18n import gettext as _

FLASH_KEY = "calls_flash"
CALLER_ID_HELP = ("shown to the called party on calls through trunks; 3 to 20 digits, "
                  "optionally after a +")
PREFER_CHOICES = (("extension", "Extension's caller ID"), ("trunk", "Trunk's caller ID"))
METHOD_CHOICES = (("sequential", "Sequential"), ("round_robin", "Round robin"))
CALLER_ID_CHOICES = ((1, "Extension's caller ID 1"), (2, "Extension's caller ID 2"))
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class FormField:
    """One input of a form. ``kind``: text, number, checkbox, select, ordered, pins,
    condition, choice. ``choices`` names the model whose names a select/ordered field
    offers, or -- for a choice -- its (value, label) pairs."""

    name: str
    label: str
    kind: str = "text"
    choices: Any = None
    help: str = ""
    required: bool = False
    optional_choice: bool = False


@dataclass(frozen=True)
class PageSpec:
    segment: str
    kind: str
    title: str
    singular: str
    columns: tuple[tuple[str, str, bool], ...]   # field, label, sortable
    fields: tuple[FormField, ...]
    filters: tuple[tuple[str, str, str], ...] = (("keyword", "Keyword", "text"),)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> str:
        return "calls_" + self.segment.replace("-", "_")


SPECS: tuple[PageSpec, ...] = (
    PageSpec("extensions", "extension", "Extensions", "Extension",
             (("number", "Extension", True), ("name", "Name", True),
              ("caller_id1", "Outbound caller ID 1", False),
              ("caller_id2", "Outbound caller ID 2", False),
              ("enabled", "Enabled", True), ("dial_permission", "Dial permission", True)),
             (FormField("number", "Extension", required=True, help="1 to 32 digits"),
              FormField("name", "Name"),
              FormField("enabled", "Enabled", "checkbox"),
              FormField("dial_permission", "Dial permission", "select", DialPermission,
                        required=True),
              FormField("caller_id1", "Outbound caller ID 1", help=CALLER_ID_HELP),
              FormField("caller_id2", "Outbound caller ID 2",
                        help="used when a dial rule chooses the second caller ID")),
             (("keyword", "Extension or name", "text"), ("enabled", "Enabled", "bool")),
             {"csv": True}),
    PageSpec("trunks", "trunk", "Trunks", "Trunk",
             (("name", "Name", True), ("dial_string", "Dial string", False),
              ("caller_id", "Outbound caller ID", False),
              ("enabled", "Enabled", True), ("max_calls", "Maximum calls", False)),
             (FormField("name", "Name", required=True),
              FormField("dial_string", "Dial string", required=True,
                        help="e.g. PJSIP/{number}@carrier"),
              FormField("enabled", "Enabled", "checkbox"),
              FormField("max_calls", "Maximum calls", "number", help="empty = no limit"),
              FormField("caller_id", "Outbound caller ID",
                        help="shown to the called party on calls through this trunk (the "
                             "carrier must allow it)"),
              FormField("prefer", "Prefer", "choice", PREFER_CHOICES,
                        help="whose caller ID a call through this trunk shows when both "
                             "are set"))),
    PageSpec("dial-rules", "dial rule", "Dial rules", "Dial rule",
             (("name", "Name", True), ("prefix", "Dial prefix", True),
              ("pattern", "Dial pattern", False), ("prepend", "Add prefix", False),
              ("trunks", "Trunks", False), ("time_limit", "Time limit (s)", False),
              ("pin_set", "PIN set", False)),
             (FormField("name", "Name", required=True),
              FormField("prefix", "Dial prefix", help="stripped before sending, e.g. 9"),
              FormField("pattern", "Dial pattern", required=True,
                        help="X 0-9, Z 1-9, N 2-9, [1-5] sets, . one or more, ! zero or more"),
              FormField("prepend", "Add prefix", help="added before the number sent out"),
              FormField("trunks", "Trunks", "ordered", Trunk, required=True,
                        help="tried in this order"),
              FormField("time_limit", "Time limit (s)", "number", help="60 to 3600, empty = none"),
              FormField("call_method", "Call method", "choice", METHOD_CHOICES,
                        help="sequential: the trunks in order, the next when one fails; "
                             "round robin: each call starts at the next trunk"),
              FormField("caller_id", "Outbound caller ID", "choice", CALLER_ID_CHOICES,
                        help="which of the extension's caller IDs the called party sees"),
              FormField("pin_set", "PIN set", "select", PinSet, optional_choice=True),
              FormField("condition", "Time condition", "condition"))),
    PageSpec("dial-permissions", "dial permission", "Dial permissions", "Dial permission",
             (("name", "Name", True), ("dial_rules", "Dial rules", False)),
             (FormField("name", "Name", required=True),
              FormField("dial_rules", "Dial rules", "ordered", DialRule,
                        help="the first matching rule is used"))),
    PageSpec("pin-sets", "PIN set", "PIN sets", "PIN set",
             (("name", "Name", True), ("pins", "PINs", False)),
             (FormField("name", "Name", required=True),
              FormField("pins", "PIN list", "pins", help="one PIN per line, 1 to 16 digits"))),
)
SPEC_BY_SEGMENT = {s.segment: s for s in SPECS}


async def flash(request: web.Request, kind: str, text: str) -> None:
    session = await get_session(request)
    session[FLASH_KEY] = [*session.get(FLASH_KEY, []), [kind, text]]


async def pop_flashes(request: web.Request) -> list[list[str]]:
    session = await get_session(request)
    return session.pop(FLASH_KEY, [])


def show(value: Any) -> str:
    """A cell of a configuration list."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return " → ".join(str(v) for v in value) if len(value) < 8 else \
            ", ".join(map(str, value[:7])) + f" … (+{len(value) - 7})"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


# --- list ---------------------------------------------------------------------------------


async def list_page(request: web.Request, spec: PageSpec) -> web.Response:
    return await render_list(request, spec)


async def render_list(request: web.Request, spec: PageSpec, status: int = 200,
                      **extra: Any) -> web.Response:
    kind = svc.KINDS[spec.kind]
    lspec = LIST_SPECS[spec.kind]
    lq = lspec.parse(request.query)
    page = await lspec.fetch(kind.model.all(), lq, path=request.path)
    context = {"spec": spec, "kind": kind, "page": page, "show": show,
               "flashes": await pop_flashes(request), "import_errors": [],
               "title": _(spec.title), **extra}
    return aiohttp_jinja2.render_template("calls/config_list.html", request, context,
                                          status=status)


# --- form ---------------------------------------------------------------------------------


async def load_choices(spec: PageSpec) -> dict[str, list[str]]:
    return {f.name: await svc.names(f.choices) for f in spec.fields
            if f.choices is not None and f.kind != "choice"}


def _form_data(spec: PageSpec, form: MultiDictProxy, editing: bool) -> dict[str, Any]:
    """Typed values from a posted form (the services check them)."""
    data: dict[str, Any] = {}
    for f in spec.fields:
        if editing and f.name == svc.KINDS[spec.kind].key:
            continue
        if f.kind == "checkbox":
            data[f.name] = f.name in form
        elif f.kind == "ordered":
            data[f.name] = [str(v) for v in form.getall(f.name, []) if str(v).strip()]
        elif f.kind == "condition":
            data[f.name] = _condition(form)
        else:
            data[f.name] = str(form.get(f.name, ""))
    return data


def _condition(form: MultiDictProxy) -> Any:
    if "condition_on" not in form:
        return None
    days = []
    for d in form.getall("condition_days", []):
        days.append(int(d) if str(d).isdigit() else d)
    return {"days": days or list(range(7)), "start": str(form.get("condition_start", "")),
            "end": str(form.get("condition_end", ""))}


def _values_of(kind: Kind, obj: Any) -> dict[str, Any]:
    values = svc.serialize(kind, obj)
    if isinstance(values.get("pins"), list):
        values["pins"] = "\n".join(values["pins"])
    return values


async def _render_form(request: web.Request, spec: PageSpec, values: dict[str, Any],
                       key: str | None, errors: dict[str, str], status: int = 200
                       ) -> web.Response:
    context = {"spec": spec, "values": values, "key": key, "errors": errors,
               "choices": await load_choices(spec), "days": DAYS,
               "title": _(spec.singular)}
    return aiohttp_jinja2.render_template("calls/config_form.html", request, context,
                                          status=status)


def _labels(spec: PageSpec) -> dict[str, str]:
    return {f.name: f.label for f in spec.fields}


def error_at(exc: ConfigError, spec: PageSpec) -> dict[str, str]:
    """The message at its input; one about an input the form lacks names that input."""
    names = {f.name for f in spec.fields}
    if exc.field in names:
        return {exc.field: translate(exc.message, _labels(spec))}
    return {"_form": error_text(exc.message, exc.field, _labels(spec))}


async def new_form(request: web.Request, spec: PageSpec) -> web.Response:
    kind = svc.KINDS[spec.kind]
    values = {**kind.defaults, **({"dial_permission": svc.DEFAULT_PERMISSION}
                                  if spec.kind == "extension" else {})}
    return await _render_form(request, spec, values, None, {})


async def create(request: web.Request, spec: PageSpec) -> web.Response:
    kind = svc.KINDS[spec.kind]
    form = await request.post()
    data = _form_data(spec, form, editing=False)
    try:
        obj = await svc.create(kind, data)
    except ConfigError as exc:
        return await _render_form(request, spec, _redisplay(data), None, error_at(exc, spec),
                                  status=exc.status)
    await flash(request, "ok", _("Saved %(what)s %(key)s.", what=_(spec.singular),
                                 key=getattr(obj, kind.key)))
    raise web.HTTPFound(request.app.router[spec.route].url_for())


async def edit_form(request: web.Request, spec: PageSpec) -> web.Response:
    kind = svc.KINDS[spec.kind]
    try:
        obj = await svc.get(kind, request.match_info["key"])
    except ConfigError:
        raise web.HTTPNotFound() from None
    return await _render_form(request, spec, _values_of(kind, obj), getattr(obj, kind.key), {})


async def update(request: web.Request, spec: PageSpec) -> web.Response:
    kind = svc.KINDS[spec.kind]
    key = request.match_info["key"]
    form = await request.post()
    data = _form_data(spec, form, editing=True)
    try:
        await svc.update(kind, key, data)
    except ConfigError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        return await _render_form(request, spec, {**_redisplay(data), kind.key: key}, key,
                                  error_at(exc, spec), status=exc.status)
    await flash(request, "ok", _("Saved %(what)s %(key)s.", what=_(spec.singular), key=key))
    raise web.HTTPFound(request.app.router[spec.route].url_for())


def _redisplay(data: dict[str, Any]) -> dict[str, Any]:
    """Posted values shown again in the form (a list of PINs as text)."""
    return dict(data)


async def delete(request: web.Request, spec: PageSpec) -> web.Response:
    kind = svc.KINDS[spec.kind]
    key = request.match_info["key"]
    try:
        await svc.delete(kind, key)
    except ConfigError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        await flash(request, "error", translate(exc.message, _labels(spec)))
    else:
        await flash(request, "ok", _("Deleted %(what)s %(key)s.", what=_(spec.singular),
                                     key=key))
    raise web.HTTPFound(request.app.router[spec.route].url_for())
