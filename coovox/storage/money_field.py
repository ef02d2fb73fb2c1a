"""The money column: ``MoneyField`` (a BIGINT of 1/10000 units read and written as
``Decimal``) and ``MoneyModel``, the base of models that have one. Apart from
:mod:`coovox.storage.money` so that the money arithmetic imports no ORM."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model

from coovox.storage.money import from_units, parse_money, to_units


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
        """Database units (integers of 1/10000) → Decimal; a Decimal or text is parsed.

        Tortoise also calls this for the keyword arguments of ``Model(...)`` /
        ``create(...)``, where money is in whole units: :class:`MoneyModel` turns a whole
        number given there into a ``Decimal`` first, so an integer here is always units.
        """
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return from_units(value)
        return parse_money(value)


class MoneyModel(Model):
    """A model with :class:`MoneyField` columns: ``Model(balance=5)`` means 5 (whole
    units, like ``to_db_value``), not 5/10000."""

    class Meta:
        abstract = True

    def __init__(self, **kwargs: Any) -> None:
        for name in money_fields(type(self)) & kwargs.keys():
            value = kwargs[name]
            if isinstance(value, int) and not isinstance(value, bool):
                kwargs[name] = Decimal(value)
        super().__init__(**kwargs)


@functools.cache
def money_fields(model: type[Model]) -> frozenset[str]:
    """The names of ``model``'s :class:`MoneyField` columns (Tortoise's public describe)."""
    described = model.describe(serializable=False)
    return frozenset(f["name"] for f in described["data_fields"]
                     if isinstance(f["field_type"], type)
                     and issubclass(f["field_type"], MoneyField))
