"""Money: ``Decimal`` with 4 fractional digits in code, integers of 1/10000 in the database."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from coovox.inputs import shown
from coovox.messages import Msg

SCALE = 10_000
QUANTUM = Decimal("0.0001")
LIMIT = Decimal("1e12")
# The largest balance an account may hold (and the largest credit, recharge, correction,
# initial cost or rate): far below what the BIGINT column of 1/10000 units holds
# (9.2e14), so sums of balances, credits and charges never overflow it.
MAX_BALANCE = Decimal("1000000000.0000")
# What money input looks like: ASCII digits, an optional sign, a digit before the point,
# no exponent, no underscores, no thousands separators, no other scripts' digits.
MONEY_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
MAX_TEXT = 40  # characters of a money input (sign, 13 digits, point, decimals, zeros)
_NOT_FINITE = {"nan", "+nan", "-nan", "snan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity"}


class MoneyError(ValueError):
    """A money value was refused; the message says why (the caller adds the field)."""


def parse_money(value: Any, *, allow_negative: bool = True) -> Decimal:
    """Parse user input (str/int/Decimal) into a Decimal with 4 digits, or raise MoneyError.

    The ONE parser of money input.  Text must be ASCII digits with an optional leading
    sign and an optional point followed by digits (``12``, ``-3.5``, ``0.0100``): no
    exponent (``1E2``), no underscores (``1_000``), no leading point (``.5``), no
    full-width or other scripts' digits.  Refuses floats (they are not exact), more than 4
    significant fractional digits, NaN/Infinity and |x| >= 1e12.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("must be given as a string or whole number, e.g. \"12.3400\"")
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        text = value.strip(" \t")
        if not text:
            raise MoneyError("is required")
        if len(text) > MAX_TEXT:
            raise MoneyError(Msg("is too long (at most %(n)s characters)", n=MAX_TEXT))
        if text.lower() in _NOT_FINITE:
            raise MoneyError("must be a finite number")
        if not MONEY_RE.fullmatch(text):
            raise MoneyError(Msg("is not a number: %(text)s (use digits 0-9 and a point, "
                                 "e.g. \"12.50\")", text=shown(text)))
        try:
            value = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise MoneyError(Msg("is not a number: %(text)s", text=shown(text))) from None
    elif not isinstance(value, Decimal):
        raise MoneyError("must be a number")
    if not value.is_finite():
        raise MoneyError("must be a finite number")
    if value.as_tuple().exponent < -4 and value != value.quantize(QUANTUM):
        raise MoneyError("has more than 4 decimal places")
    if abs(value) >= LIMIT:
        raise MoneyError("is out of range")
    if value < 0 and not allow_negative:
        raise MoneyError("must not be negative")
    if not value:
        value = Decimal(0)  # "-0" is 0
    return value.quantize(QUANTUM)


def to_units(value: Decimal) -> int:
    """Decimal → integer 1/10000 (exact for values with at most 4 decimals)."""
    return int((value * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(QUANTUM)


def fmt(value: Decimal) -> str:
    """The API's money string: always 4 decimals."""
    return str(value.quantize(QUANTUM))
