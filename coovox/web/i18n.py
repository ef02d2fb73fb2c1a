"""Languages: English and Simplified Chinese from Babel ``.po`` catalogs.

The language of a request: the user's choice (cookie ``lang``), else the browser's
``Accept-Language``, else English.  Templates and code call ``_(msgid)``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from coovox.messages import Field, Joined, Msg, label_of
from coovox.web.formats import currency_decimals, local_datetime, money_text, price_text
from coovox.web.keys import COOVOX_KEY, LANG_KEY

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


def catalog(lang: str) -> Mapping[str, str]:
    """The translations of ``lang`` (msgid -> text; empty for English)."""
    return _catalogs.get(lang, {})


def translate(message: Any, labels: Mapping[str, str] | None = None) -> str:
    """A message for a page in the current language: a :class:`~coovox.messages.Msg`
    from its template (fields named by their translated label, ``labels`` first), any
    other text looked up as a msgid (unknown text is shown as it is)."""
    if isinstance(message, Msg):
        params = {k: _param(v, labels) for k, v in message.params.items()}
        try:
            return gettext(message.template) % params
        except (KeyError, TypeError, ValueError):  # a broken translation: say it in English
            return message.template % params
    if isinstance(message, Field):
        return gettext(label_of(message, labels))
    return gettext(str(message)) if message is not None else ""


def _param(value: Any, labels: Mapping[str, str] | None) -> Any:
    if isinstance(value, Msg | Field):
        return translate(value, labels)
    if isinstance(value, Joined):
        return value.sep.join(translate(item, labels) for item in value.items)
    return value


def error_text(message: Any, field: str | None = None,
               labels: Mapping[str, str] | None = None) -> str:
    """An error shown away from its input (a banner, a flash): it must name the field.
    A message that does not name it gets the field's label in front."""
    text = translate(message, labels)
    names_field = isinstance(message, Msg) and any(
        isinstance(v, Field) for v in message.params.values())
    if field and not names_field and field not in ("_form", "body"):
        return gettext("%(field)s: %(problem)s", field=translate(Field(field), labels),
                       problem=text)
    return text


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
    request[LANG_KEY] = _lang.get()
    try:
        return await handler(request)
    finally:
        _lang.reset(token)


def money(value: Decimal | None, currency: str = "USD", decimals: int | None = None) -> str:
    """Money with its currency's sign and decimals, e.g. ``$12.35`` / ``US$12.35`` /
    ``₫1,235`` (``decimals``: the billing setting; default the currency's own)."""
    if value is None:
        return ""
    places = currency_decimals(currency) if decimals is None else decimals
    pattern = "#,##0" + ("." + "0" * places if places else "")
    amount = Decimal(money_text(value, places))
    if currency.upper() in ("OTHER", "¤"):
        return "¤" + format_decimal(amount, format=pattern, locale=_babel_locale())
    return format_currency(amount, currency, format="¤" + pattern, locale=_babel_locale(),
                           currency_digits=False)


def format_datetime(value: datetime | None, tz: str = "UTC", fmt: str = "") -> str:
    """A moment as pages show it: ``YYYY-MM-DD HH:MM:SS`` in the PBX time zone ``tz``
    (the same in every language; :mod:`coovox.web.formats`)."""
    return local_datetime(value, tz)


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

    def pbx_datetime(value: Any, fmt: str = "") -> str:
        """Every time on a page: ``YYYY-MM-DD HH:MM:SS`` in the PBX time zone."""
        return local_datetime(value, tz)

    env.globals.update(_=gettext, money=money, languages=LANGUAGES, translate=translate,
                       error_text=error_text,
                       current_language=current_language, format_datetime=pbx_datetime)
    env.filters["datetime"] = pbx_datetime
    env.globals.update(money_text=money_text, price_text=price_text, pbx_timezone=tz)
