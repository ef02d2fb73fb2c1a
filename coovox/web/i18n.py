"""Languages: English and Simplified Chinese from Babel ``.po`` catalogs.

The language of a request: the user's choice (cookie ``lang``), else the browser's
``Accept-Language``, else English.  Templates and code call ``_(msgid)``.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel import Locale
from babel.dates import format_datetime as babel_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from coovox.web.keys import COOVOX_KEY

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT = "en"
HERE = Path(__file__).parent

_lang: contextvars.ContextVar[str] = contextvars.ContextVar("coovox_lang", default=DEFAULT)
_catalogs: dict[str, dict[str, str]] = {}

CATALOGS_KEY: web.AppKey[dict[str, dict[str, str]]] = web.AppKey("catalogs")


def load_catalogs(dirs: list[Path]) -> dict[str, dict[str, str]]:
    """Read every ``<lang>.po`` in ``dirs`` into ``{lang: {msgid: msgstr}}``."""
    out: dict[str, dict[str, str]] = {}
    for d in reversed(dirs):  # earlier dirs win
        for po in sorted(Path(d).glob("*.po")):
            with po.open("rb") as fh:
                catalog = read_po(fh)
            table = out.setdefault(po.stem, {})
            for message in catalog:
                if message.id and message.string and isinstance(message.id, str):
                    table[message.id] = message.string
    return out


def gettext(text: str, **params: Any) -> str:
    translated = _catalogs.get(_lang.get(), {}).get(text, text)
    return translated % params if params else translated


_ = gettext


def current_language() -> str:
    return _lang.get()


def set_language(lang: str) -> contextvars.Token[str]:
    return _lang.set(lang if lang in LANGUAGES else DEFAULT)


def reset_language(token: contextvars.Token[str]) -> None:
    """Undo :func:`set_language`."""
    _lang.reset(token)


def pick_language(request: web.Request) -> str:
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


@web.middleware
async def language_middleware(request: web.Request, handler):
    token = set_language(pick_language(request))
    request["lang"] = _lang.get()
    try:
        return await handler(request)
    finally:
        _lang.reset(token)


def money(value: Decimal | None, currency: str = "USD") -> str:
    """Money for display in the current language, e.g. ``$12.3400`` / ``¥12.3400``."""
    if value is None:
        return ""
    if currency == "Other":
        return "¤" + format_decimal(value, format="#,##0.0000", locale=_babel_locale())
    return format_currency(value, currency, format="¤#,##0.0000", locale=_babel_locale(),
                           currency_digits=False)


def format_datetime(value: datetime | None, tz: str = "UTC", fmt: str = "medium") -> str:
    """A moment for display in the current language and the PBX time zone ``tz``."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    from zoneinfo import ZoneInfo

    return babel_datetime(value.astimezone(ZoneInfo(tz)), format=fmt, locale=_babel_locale())


def _babel_locale() -> Locale:
    return Locale.parse(_lang.get())


def setup_i18n(app: web.Application) -> None:
    coovox = app[COOVOX_KEY]
    dirs = [HERE / "locale"]
    for found in coovox.plugins.call_all("coovox_locale_dirs"):
        dirs.extend(Path(p) for p in found)
    _catalogs.clear()
    _catalogs.update(load_catalogs(dirs))
    app[CATALOGS_KEY] = _catalogs
    app.middlewares.insert(0, language_middleware)
    env = aiohttp_jinja2.get_env(app)
    tz = coovox.config.timezone

    def pbx_datetime(value: datetime | None, fmt: str = "medium") -> str:
        return format_datetime(value, tz, fmt)

    env.globals.update(_=gettext, money=money, languages=LANGUAGES,
                       current_language=current_language, format_datetime=pbx_datetime)
    env.filters["datetime"] = pbx_datetime
