"""Rules every text input shares (names, remarks, reasons, path keys): no hidden characters.

A name or remark may hold any printable text (Chinese names, emoji), but never:

- a control character (Unicode category Cc: NUL, tab, newline, DEL, C1 controls...),
- a bidirectional formatting character (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
  U+061C): they make a name display as something else ("Trojan Source"),
- a line or paragraph separator (U+2028, U+2029), or a lone surrogate (it cannot be
  stored as UTF-8).

:func:`text_problem` says what is wrong (or None); the callers raise their own error type
naming the field.  :func:`scrub` replaces such characters for display (rows written before
these rules, or a refused value shown again in its form).
"""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup

from coovox.messages import Msg

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
SEPARATORS = frozenset("\u2028\u2029")
# a fast pre-check: everything below is refused, plus Cc/Cs found by category
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")


def refused_char(ch: str) -> bool:
    return ch in BIDI or ch in SEPARATORS or unicodedata.category(ch) in ("Cc", "Cs")


def describe(ch: str) -> str:
    """``U+0000 (NUL)``-like name of a character for a message."""
    name = unicodedata.name(ch, "")
    if not name and unicodedata.category(ch) == "Cc":
        name = {"\x00": "NUL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN",
                "\x7f": "DELETE"}.get(ch, "control character")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused as a name or remark, or None."""
    if not _SUSPECT.search(text):
        return None
    for ch in text:
        if refused_char(ch):
            return Msg("must not contain control or direction-changing characters (found "
                       "%(char)s)", char=describe(ch))
    return None


def scrub(text: str, keep: str = "") -> str:
    """``text`` with every refused character (but those in ``keep``) replaced by U+FFFD,
    for display only."""
    if not _SUSPECT.search(text):
        return text
    return "".join("\ufffd" if ch not in keep and refused_char(ch) else ch for ch in text)


def for_html(value: object) -> object:
    """Jinja's ``finalize``: text shown in a page never carries NUL, other control
    characters (but tab and line breaks) or direction overrides -- from rows written before
    these rules or a refused value shown again in its form.  Markup stays Markup."""
    if isinstance(value, str):
        clean = scrub(value, "\t\n\r")
        if clean is not value:  # Markup stays Markup; a message becomes its plain text
            return Markup(clean) if isinstance(value, Markup) else clean
    return value


def shown(text: str, limit: int = 20) -> str:
    """``text`` quoted for an error message: printable, at most ``limit`` characters."""
    clean = "".join(c if c.isprintable() else "\ufffd" for c in text[:limit])
    return repr(clean + ("…" if len(text) > limit else ""))


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def truth(value: object, *, blank: bool | None = None) -> bool:
    """The ONE true/false parser: a bool, 1/0, or the text ``1/0, true/false, yes/no,
    on/off`` (any case, spaces around ignored); ``blank`` is what empty text means (None:
    refused).  Raises ValueError("must be true or false")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        if not text and blank is not None:
            return blank
    raise ValueError(Msg("must be true or false"))
