"""Asterisk dial patterns: ``X`` 0-9, ``Z`` 1-9, ``N`` 2-9, ``[1-5]``/``[135]`` sets,
``.`` one or more of anything, ``!`` zero or more of anything, other characters literal.

A leading ``_`` (Asterisk's pattern marker) is allowed and ignored.  Matching is on the
whole number.  Compiled patterns are cached; the functions are pure.
"""

from __future__ import annotations

import re
from functools import lru_cache


class PatternError(ValueError):
    """A dial pattern is malformed; the message says where."""


_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression matching exactly the numbers ``pattern`` matches."""
    text = pattern[1:] if pattern.startswith("_") else pattern
    if not text:
        raise PatternError("the pattern is empty")
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        upper = ch.upper()
        if upper in _CLASSES:
            out.append(_CLASSES[upper])
        elif ch == ".":
            out.append(".+")
        elif ch == "!":
            out.append(".*")
        elif ch == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise PatternError(f"'[' at position {i + 1} is never closed")
            out.append(_charset(text[i + 1:end], i))
            i = end
        elif ch == "]":
            raise PatternError(f"']' at position {i + 1} has no opening '['")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _charset(body: str, pos: int) -> str:
    if not body:
        raise PatternError(f"'[]' at position {pos + 1} is empty")
    chars: list[str] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            lo, hi = body[j], body[j + 2]
            if lo > hi:
                raise PatternError(f"range {lo}-{hi} at position {pos + j + 2} is reversed")
            chars.append(re.escape(lo) + "-" + re.escape(hi))
            j += 3
        else:
            chars.append(re.escape(body[j]))
            j += 1
    return "[" + "".join(chars) + "]"


def validate(pattern: str) -> str | None:
    """A message saying what is wrong with ``pattern``, or None when it is valid."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def matches(pattern: str, number: str) -> bool:
    """True when ``number`` as a whole matches the Asterisk ``pattern``."""
    return compile_pattern(pattern).fullmatch(number) is not None
