"""Money: Decimal with 4 decimals in code, an integer column of 1/10000 in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tortoise import Tortoise, connections, fields
from tortoise.models import Model

from coovox.storage.money import (
    MoneyError,
    fmt,
    from_units,
    parse_money,
    to_units,
)
from coovox.storage.money_field import MoneyField, MoneyModel, money_fields


class Wallet(MoneyModel):
    """A throwaway model with a money column."""

    id = fields.IntField(primary_key=True)
    balance = MoneyField(null=True)

    class Meta:
        app = "moneytest"
        table = "money_wallet"


@pytest.fixture
async def wallet_db(tmp_path):
    await Tortoise.init(db_url=f"sqlite://{tmp_path / 'm.sqlite3'}",
                        modules={"moneytest": [__name__]})
    await Tortoise.generate_schemas()
    try:
        yield
    finally:
        await Tortoise.close_connections()


@pytest.mark.parametrize("text", ["12.3456", "-0.0001", "0", "999999999999.9999", "7"])
async def test_round_trip_through_an_integer_column(wallet_db, text):
    w = await Wallet.create(balance=parse_money(text))
    _, rows = await connections.get("default").execute_query(
        "SELECT balance, typeof(balance) AS t FROM money_wallet WHERE id = ?", [w.id])
    assert rows[0]["t"] == "integer"
    assert rows[0]["balance"] == int(Decimal(text) * 10000)
    again = await Wallet.get(id=w.id)
    assert again.balance == Decimal(text)
    assert isinstance(again.balance, Decimal)
    assert fmt(again.balance) == str(Decimal(text).quantize(Decimal("0.0001")))


async def test_null_stays_null(wallet_db):
    w = await Wallet.create(balance=None)
    assert (await Wallet.get(id=w.id)).balance is None


async def test_column_refuses_a_float(wallet_db):
    with pytest.raises(MoneyError, match="string or whole number"):
        await Wallet.create(balance=1.1)


def test_units_conversion_is_exact():
    assert to_units(Decimal("0.1") + Decimal("0.2")) == 3000
    assert from_units(123456) == Decimal("12.3456")
    assert fmt(Decimal("5")) == "5.0000"


@pytest.mark.parametrize(("value", "message"), [
    (0.1, "string or whole number"),
    (True, "string or whole number"),
    ("NaN", "finite"),
    ("Infinity", "finite"),
    ("1.00001", "more than 4 decimal places"),
    ("1000000000000", "out of range"),  # exponents ("1E+12") are refused as text
    ("-1000000000000", "out of range"),
    ("12,50", "not a number"),
    ("", "required"),
    (None, "must be a number"),
])
def test_refusals_say_why(value, message):
    with pytest.raises(MoneyError, match=message):
        parse_money(value)


def test_negative_refused_when_asked():
    with pytest.raises(MoneyError, match="negative"):
        parse_money("-1", allow_negative=False)
    assert parse_money("1.50000") == Decimal("1.5000")  # trailing zeros are not extra digits


async def test_whole_numbers_given_in_code_mean_whole_money(wallet_db):
    """``create(balance=5)`` is 5.0000, like ``filter(balance=5)`` and ``update(balance=5)``."""
    w = await Wallet.create(balance=5)
    assert w.balance == Decimal("5.0000")
    assert (await Wallet.get(id=w.id)).balance == Decimal("5.0000")
    assert await Wallet.filter(balance=5).count() == 1
    await Wallet.filter(id=w.id).update(balance=7)
    assert (await Wallet.get(id=w.id)).balance == Decimal("7.0000")
    assert await Wallet.filter(id=w.id).values_list("balance", flat=True) == [Decimal("7")]


async def test_column_refuses_too_many_decimals(wallet_db):
    with pytest.raises(MoneyError, match="more than 4 decimal places"):
        await Wallet.create(balance=Decimal("1.00001"))


def test_every_model_with_money_columns_reads_whole_numbers_as_money():
    """A model with a MoneyField must be a MoneyModel (else ``create(balance=5)`` would
    store 5/10000)."""
    import importlib
    import inspect
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    names = ["coovox.models"] + [
        "coovox.plugins." + p.parent.name + ".models"
        for p in sorted((root / "coovox" / "plugins").glob("*/models.py"))]
    found = {}
    for name in names:
        for cls in vars(importlib.import_module(name)).values():
            if inspect.isclass(cls) and issubclass(cls, Model) and cls.__module__ == name \
                    and money_fields(cls):
                found[cls.__name__] = issubclass(cls, MoneyModel)
    assert found and all(found.values()), found
