"""Money: ``Decimal`` with 4 fractional digits in code, integers of 1/10000 in the database."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from tortoise import fields

from coovox.messages import Msg

SCALE = 10_000
QUANTUM = Decimal("0.0001")
LIMIT = Decimal("1e12")


class MoneyError(ValueError):
    """A money value was refused; the message says why (the caller adds the field)."""


def parse_money(value: Any, *, allow_negative: bool = True) -> Decimal:
    """Parse user input (str/int/Decimal) into a Decimal with 4 digits, or raise MoneyError.

    Refuses floats (they are not exact), more than 4 fractional digits, NaN/Infinity and
    |x| >= 1e12.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("must be given as a string or whole number, e.g. \"12.3400\"")
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("is required")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise MoneyError(Msg("is not a number: %(text)s", text=repr(text))) from None
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
    return value.quantize(QUANTUM)


def to_units(value: Decimal) -> int:
    """Decimal → integer 1/10000 (exact for values with at most 4 decimals)."""
    return int((value * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(QUANTUM)


def fmt(value: Decimal) -> str:
    """The API's money string: always 4 decimals."""
    return str(value.quantize(QUANTUM))


class MoneyField(fields.BigIntField):
    """A BIGINT column of 1/10000 units that reads and writes ``Decimal``."""

    field_type = Decimal  # type: ignore[assignment]

    def to_db_value(self, value: Any, instance: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if not isinstance(value, Decimal):
            value = parse_money(value)
        return to_units(value)

    def to_python_value(self, value: Any) -> Any:
        """Database units → Decimal; values given in code (``Model(balance=...)``) are parsed.

        Tortoise calls this both for database rows (integers of 1/10000) and for keyword
        arguments of ``Model(...)``/``create(...)`` (money in whole units, like
        ``to_db_value``); the caller tells them apart.
        """
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and not _from_code():
            return from_units(value)
        return parse_money(value)


def _from_code() -> bool:
    """True when ``to_python_value`` was called from ``Model.__init__`` (user input)."""
    import sys

    from tortoise.models import Model

    return sys._getframe(2).f_code is Model._set_kwargs.__code__
