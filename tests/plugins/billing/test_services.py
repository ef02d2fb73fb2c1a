"""Accounts, recharges, rates and settings rules (services, no HTTP)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coovox.plugins.billing import services
from coovox.plugins.billing.models import Account, Recharge
from coovox.plugins.billing.validation import BillingError
from tests.support.billing import NOON, make_extensions

RATE = {"prefix": "9", "length": 0, "initial_cost": "0", "initial_time": 0, "rate": "0.1",
        "unit": 60, "extensions": "all"}


async def test_accounts_are_created_on_demand_with_the_defaults(coovox):
    await make_extensions("100")
    assert await services.get_account("100") == {
        "extension": "100", "name": "Ext 100", "enabled": False, "balance": "0.0000",
        "credit": "0.0000", "payment_type": "prepaid", "status": "unlocked",
        "total_recharges": "0.0000"}


async def test_bulk_recharge_is_all_or_nothing(coovox):
    await make_extensions("100", "101")
    with pytest.raises(BillingError) as err:
        await services.recharge(["100", "101", "999"], "5", "op", NOON)
    assert err.value.field == "extensions"
    assert await Recharge.all().count() == 0
    assert not await Account.filter(balance__gt=0).exists()
    rows = await services.recharge(["100", "101"], "5", "op", NOON)
    assert [(r["pre_balance"], r["post_balance"], r["by"]) for r in rows] == [
        ("0.0000", "5.0000", "op")] * 2


async def test_bad_recharge_amounts_name_the_field(coovox):
    await make_extensions("100")
    for amount in ["0", "-3", "x", "1.00001", "1e12", "Infinity", "", 2.5]:
        with pytest.raises(BillingError) as err:
            await services.recharge(["100"], amount, "op", NOON)
        assert err.value.field == "amount", amount
    assert await Recharge.all().count() == 0


async def test_correction_needs_a_reason_and_is_marked(coovox):
    await make_extensions("100")
    await services.recharge(["100"], "10", "op", NOON)
    with pytest.raises(BillingError) as err:
        await services.correct("100", "-4", "  ", "op", NOON)
    assert err.value.field == "reason"
    row = await services.correct("100", "-4", "typed 10 for 6", "op", NOON)
    assert row["correction"] and row["post_balance"] == "6.0000"
    assert (await Account.get(extension="100")).balance == Decimal(6)


async def test_payment_type_change_resets_total_recharges(coovox):
    await make_extensions("100", "101")
    await services.recharge(["100", "101"], "10", "op", NOON)
    await services.update_accounts(["100", "101"], {"payment_type": "prepaid"})
    assert (await Account.get(extension="100")).total_recharges == 10  # unchanged type
    await services.update_accounts(["100"], {"payment_type": "postpaid"})
    acc = await Account.get(extension="100")
    assert acc.total_recharges == 0 and acc.balance == 10


async def test_bulk_edit_changes_only_ticked_fields(coovox):
    await make_extensions("100", "101")
    await services.update_accounts(["100"], {"credit": Decimal(3), "status": "locked"})
    changes = services.bulk_changes({"apply": ["enabled"], "enabled": "on", "credit": "9",
                                     "status": "unlocked"})
    assert changes == {"enabled": True}
    await services.update_accounts(["100", "101"], changes)
    a = await Account.get(extension="100")
    assert (a.enabled, a.credit, a.status) == (True, 3, "locked")
    with pytest.raises(BillingError):
        services.bulk_changes({"apply": [], "credit": "9"})


async def test_rate_validation_names_the_field(coovox):
    await make_extensions("100")
    for field, value in [
        ("unit", 0), ("unit", "1.5"), ("length", 33), ("length", -1), ("initial_time", -1),
        ("prefix", "9-1"), ("initial_cost", "-0.01"), ("rate", "0.00001"),
        ("start_time", "24:00"), ("end_time", "7pm"), ("extensions", []),
        ("extensions", ["555"]),
    ]:
        with pytest.raises(BillingError) as err:
            await services.create_rate({**RATE, field: value})
        assert err.value.field == field, (field, value)


async def test_rate_windows_wrapping_midnight_are_accepted(coovox):
    await make_extensions("100")
    rate = await services.create_rate({**RATE, "start_time": "22:00", "end_time": "06:00",
                                       "prefix": "*#+9", "extensions": ["100"]})
    assert services.rate_json(rate)["start_time"] == "22:00:00"
    assert services.rule_of(rate).extensions == frozenset({"100"})


async def test_settings_currency_and_activation_asks_licensing(coovox):
    s = await services.update_settings({"currency": "vnd", "warning_seconds": "10"})
    assert (s["currency"], s["currency_symbol"], s["warning_seconds"]) == ("VND", "₫", 10)

    class Refusing:
        async def afirst(self, hook, **kw):
            assert (hook, kw) == ("coovox_feature_activate", {"feature": "billing",
                                                              "active": True})
            return "the billing trial has expired"

    with pytest.raises(BillingError) as err:
        await services.update_settings({"active": True}, Refusing())
    assert err.value.field == "active" and "expired" in err.value.message
    assert (await services.get_settings())["active"] is False
