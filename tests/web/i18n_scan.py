"""Scanning templates for translatable strings (used by the language tests)."""

from __future__ import annotations

import re
from pathlib import Path

MSGID_RE = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
BLOCK_RE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
TAG_RE = re.compile(r"<[^>]*>", re.S)
TEXT_ATTR_RE = re.compile(r"""\b(placeholder|title|aria-label|alt|value)\s*=\s*"([^"{]*)\"""")
WORD_RE = re.compile(r"[A-Za-z]{2,}")
# words that are the same in every language (brand, units, codes)
ENTITY_RE = re.compile(r"&#?\w+;")
ALLOWED = {"CooVox", "UTC", "CSV", "Excel", "API", "IP", "ARI", "PIN", "ID", "OK", "URL", "JSON",
           "xlsx", "csv", "bill", "xxx"}


def template_files(dirs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        out.extend(sorted(Path(d).rglob("*.html")))
    return out


def msgids(text: str) -> set[str]:
    return {(a or b).replace('\\"', '"').replace("\\'", "'") for a, b in MSGID_RE.findall(text)}


def unwrapped_strings(text: str) -> list[str]:
    """English words a user would see that are not inside ``{{ _("...") }}`` (heuristic)."""
    body = BLOCK_RE.sub(" ", text)
    body = JINJA_RE.sub(" ", body)
    found: list[str] = []
    for attr, value in TEXT_ATTR_RE.findall(body):
        if attr == "value":
            continue  # form values are data, not labels
        if _english(value):
            found.append(f'{attr}="{value}"')
    for chunk in TAG_RE.split(body):
        chunk = " ".join(chunk.split())
        if _english(chunk):
            found.append(chunk)
    return found


def _english(chunk: str) -> bool:
    """True when ``chunk`` holds a word; identifiers, file names and codes do not count."""
    chunk = ENTITY_RE.sub(" ", chunk)
    for token in chunk.split():
        if any(c in token for c in "_./@{},=:"):
            continue  # an identifier, a file name, a path or a CSV header
        if any(w not in ALLOWED for w in WORD_RE.findall(token)):
            return True
    return False
