"""Issue 14, money rules: no operation leaves a balance below -credit or above the maximum
balance, corrections are not recharges, and money text is parsed by one strict parser.

Every test ends with the books checked (``coovox check`` plus the call-log formulas).
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coovox.plugins.billing import ledger, services
from coovox.plugins.billing.models import Account, BillingCall, Recharge
from coovox.storage.money import MAX_BALANCE, MoneyError, parse_money
from coovox.users import create_token, create_user
from tests.reliability.books import assert_books
from tests.support.billing import NOON, make_extensions, setup_billing
from tests.support.web import sign_in

MAX = "1000000000.0000"


@pytest.fixture
async def api(client, coovox):
    await create_user("bill-mny", "Bill-pass-123", role="billing")
    _, token = await create_token("bill-mny")
    client.headers = {"Authorization": f"Bearer {token}"}
    await make_extensions("900", "901")
    return client


async def call(client, method: str, path: str, **kw):
    resp = await client.request(method, path, headers=client.headers, **kw)
    body = await resp.json() if resp.content_type == "application/json" else await resp.text()
    return resp.status, body


async def account(ext: str) -> Account:
    return await Account.get(extension=ext)


def test_the_maximum_balance_is_documented():
    assert MAX_BALANCE == Decimal(MAX)
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    assert "1,000,000,000.0000" in (root / "README.md").read_text()


# --- corrections -------------------------------------------------------------------------


async def test_a_correction_below_minus_credit_is_refused_and_changes_nothing(api):
    status, body = await call(api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "900", "amount": "-100", "reason": "x"})
    assert status == 409, body
    assert body["error"]["field"] == "amount" and "below -credit" in body["error"]["message"]
    assert await Recharge.all().count() == 0
    acc = await Account.get_or_none(extension="900")
    assert acc is None or acc.balance == 0
    # within balance + credit it is taken
    await call(api, "PATCH", "/api/v1/billing/accounts/900", json={"credit": "3"})
    await call(api, "POST", "/api/v1/billing/recharges",
               json={"extensions": ["900"], "amount": "2"})
    status, body = await call(api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "900", "amount": "-5", "reason": "x"})
    assert status == 201 and body["post_balance"] == "-3.0000" and body["type"] == "correction"
    status, body = await call(api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "900", "amount": "-0.0001", "reason": "x"})
    assert status == 409
    assert (await account("900")).balance == Decimal("-3")
    await assert_books()


async def test_fifty_parallel_corrections_cannot_pass_the_floor_together(api):
    await call(api, "POST", "/api/v1/billing/recharges",
               json={"extensions": ["900"], "amount": "10"})
    results = await asyncio.gather(*[
        call(api, "POST", "/api/v1/billing/corrections",
             json={"extension": "900", "amount": "-2", "reason": f"r{i}"}) for i in range(50)])
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 5 and statuses.count(409) == 45, statuses
    assert (await account("900")).balance == Decimal("0")
    await assert_books()


async def test_corrections_are_not_recharges(api):
    await call(api, "POST", "/api/v1/billing/recharges",
               json={"extensions": ["900"], "amount": "10"})
    await call(api, "POST", "/api/v1/billing/corrections",
               json={"extension": "900", "amount": "-4", "reason": "typo"})
    await call(api, "POST", "/api/v1/billing/corrections",
               json={"extension": "900", "amount": "1", "reason": "goodwill"})
    _, acc = await call(api, "GET", "/api/v1/billing/accounts/900")
    assert acc["balance"] == "7.0000" and acc["total_recharges"] == "10.0000"
    _, hist = await call(api, "GET", "/api/v1/billing/recharges")
    assert [r["type"] for r in hist["items"]] == ["correction", "correction", "recharge"]
    _, only = await call(api, "GET", "/api/v1/billing/recharges?type=correction")
    assert only["total"] == 2 and all(r["correction"] for r in only["items"])
    _, only = await call(api, "GET", "/api/v1/billing/recharges?type=recharge")
    assert only["total"] == 1
    status, body = await call(api, "GET", "/api/v1/billing/recharges?type=gift")
    assert status == 400 and body["error"]["field"] == "type"
    status, text = await call(api, "GET", "/api/v1/billing/recharges?format=csv")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["Type"] for r in rows] == ["correction", "correction", "recharge"]
    await assert_books()


# --- credit --------------------------------------------------------------------------------


async def test_lowering_credit_below_a_negative_balance_is_refused(api):
    await call(api, "PATCH", "/api/v1/billing/accounts/900", json={"credit": "5"})
    await call(api, "POST", "/api/v1/billing/corrections",
               json={"extension": "900", "amount": "-4", "reason": "x"})
    status, body = await call(api, "PATCH", "/api/v1/billing/accounts/900",
                              json={"credit": "3", "status": "locked"})
    assert status == 409 and body["error"]["field"] == "credit", body
    acc = await account("900")
    assert acc.credit == Decimal("5") and acc.status == "unlocked"
    # bulk: all or none -- 901 would be fine, 900 is not
    status, body = await call(api, "POST", "/api/v1/billing/accounts:bulk-edit",
                              json={"extensions": ["901", "900"], "credit": "0",
                                    "payment_type": "postpaid"})
    assert status == 409 and "900" in body["error"]["message"]
    assert (await Account.get_or_none(extension="901")) is None or \
        (await account("901")).payment_type == "prepaid"
    assert (await account("900")).payment_type == "prepaid"
    # a payment type change with a credit that keeps the floor passes
    status, body = await call(api, "PATCH", "/api/v1/billing/accounts/900",
                              json={"credit": "4", "payment_type": "postpaid"})
    assert status == 200 and body["credit"] == "4.0000"
    await assert_books()


# --- the maximum balance -----------------------------------------------------------------


async def test_the_maximum_balance_is_a_400_naming_the_field(api):
    status, body = await call(api, "POST", "/api/v1/billing/recharges",
                              json={"extensions": ["900"], "amount": "999999999999"})
    assert status == 400 and body["error"]["field"] == "amount"
    status, _ = await call(api, "POST", "/api/v1/billing/recharges",
                           json={"extensions": ["900", "901"], "amount": MAX})
    assert status == 201
    for body in ({"extensions": ["901"], "amount": "0.0001"},
                 {"extensions": ["900"], "amount": "999999999999"}):
        status, resp = await call(api, "POST", "/api/v1/billing/recharges", json=body)
        assert status == 400 and resp["error"]["field"] == "amount", resp
    status, resp = await call(api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "900", "amount": "1", "reason": "x"})
    assert status == 400 and resp["error"]["field"] == "amount"
    status, resp = await call(api, "PATCH", "/api/v1/billing/accounts/900",
                              json={"credit": "1000000000.0001"})
    assert status == 400 and resp["error"]["field"] == "credit"
    status, resp = await call(api, "POST", "/api/v1/billing/rates", json={
        "prefix": "9", "rate": "5000000000", "unit": 60, "extensions": "all"})
    assert status == 400 and resp["error"]["field"] == "rate"
    assert (await account("901")).balance == Decimal(MAX)
    await assert_books()


async def test_the_maximum_balance_on_the_pages(client, coovox):
    await create_user("bill-pg", "Bill-pass-123", role="billing")
    await make_extensions("900")
    csrf = await sign_in(client, "bill-pg", "Bill-pass-123")
    for amount in ("999999999999", MAX, "1", "1e400", "99999999999999999999999999999999"):
        resp = await client.post("/billing/extensions/recharge", data={
            "csrf_token": csrf, "extensions": ["900"], "amount": amount})
        assert resp.status == 200, (amount, resp.status)
    html = await (await client.get("/billing/extensions")).text()
    assert "1000000000.00" in html  # shown with the currency's decimals (2 by default)
    assert (await account("900")).balance == Decimal(MAX)
    resp = await client.post("/billing/extensions/edit", data={
        "csrf_token": csrf, "extension": "900", "credit": "1e400", "status": "unlocked",
        "payment_type": "prepaid"})
    assert resp.status == 200
    await assert_books()


# --- the one money parser -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["1_000", "\uff11\uff10", "\u0663", "1E2", ".5", "1.", "0x10",
                                  "1,5", " 1 2", "1\n", "\u0661.5", "--1", "1e-2", "+-1"])
def test_loose_money_text_is_refused(text):
    with pytest.raises(MoneyError):
        parse_money(text)


@pytest.mark.parametrize(("text", "value"), [("12", "12.0000"), ("-3.5", "-3.5000"),
                                             ("0.0100", "0.0100"), ("+7", "7.0000"),
                                             ("-0", "0.0000"), ("1.50000", "1.5000")])
def test_plain_money_text_is_accepted(text, value):
    assert str(parse_money(text)) == value


async def test_loose_money_text_is_a_400_everywhere(api):
    await call(api, "POST", "/api/v1/billing/recharges",
               json={"extensions": ["900"], "amount": "5"})
    for text in ("1_000", "\uff11\uff10", "\u0663", "1E2", ".5"):
        status, body = await call(api, "POST", "/api/v1/billing/recharges",
                                  json={"extensions": ["900"], "amount": text})
        assert status == 400 and body["error"]["field"] == "amount", (text, body)
        status, body = await call(api, "POST", "/api/v1/billing/corrections",
                                  json={"extension": "900", "amount": text, "reason": "x"})
        assert status == 400 and body["error"]["field"] == "amount", (text, body)
        status, body = await call(api, "PATCH", "/api/v1/billing/accounts/900",
                                  json={"credit": text})
        assert status == 400 and body["error"]["field"] == "credit", (text, body)
        status, body = await call(api, "POST", "/api/v1/billing/rates", json={
            "prefix": "9", "rate": text, "unit": 60, "extensions": "all"})
        assert status == 400 and body["error"]["field"] == "rate", (text, body)
    assert (await account("900")).balance == Decimal("5")
    await assert_books()


# --- settlement ----------------------------------------------------------------------------


async def test_a_settlement_never_takes_a_balance_below_minus_credit(coovox):
    """A settlement whose difference cannot be paid bills the call until the first boundary
    the money cannot pay (as a live cut would), never below -credit."""
    await setup_billing(balance="0.05", credit="0.01", rate={
        "prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.02", "unit": 6,
        "extensions": "all"})
    rate = (await services.active_rules())[0].to_json()
    await ledger.open_call("s1", "100", "Ext 100", rate)
    # 60 s would cost 0.20, only 0.06 is available: billed until the 4th boundary (18 s)
    diff = await ledger.settle("s1", Decimal("0.2"), 60.0, "2026-11-20", True, 60.0)
    assert diff == Decimal("0.06")
    acc = await account("100")
    assert acc.balance == Decimal("-0.01") and acc.balance >= -acc.credit
    row = await BillingCall.get(call_id="s1")
    assert row.cost == Decimal("0.06") and row.billed_time == 18.0
    await assert_books()


async def test_books_after_recharges_of_many_extensions_stay_right(coovox):
    await make_extensions("800", "801")
    await services.recharge(["800", "801"], "3", "t", NOON)
    with pytest.raises(services.BillingError) as refused:
        await services.correct("800", "-3.0001", "too much", "t", datetime.now(UTC))
    assert refused.value.status == 409
    await services.correct("800", "-3", "all of it", "t", datetime.now(UTC))
    assert (await account("800")).balance == 0
    await assert_books()


# --- PostgreSQL: the same rules through Tortoise ----------------------------------------


@pytest.mark.postgres
async def test_the_money_rules_on_postgresql(tmp_path, pg_url):
    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost

    config = load_config(environ={}, data_dir=str(tmp_path / "p"), database_url=pg_url,
                         secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost()).open(startup=False)
    try:
        await make_extensions("900", "901")
        await services.recharge(["900"], "10", "t", NOON)
        results = await asyncio.gather(*[
            services.correct("900", "-2", f"r{i}", "t", NOON) for i in range(50)],
            return_exceptions=True)
        refused = [r for r in results if isinstance(r, services.BillingError)]
        assert len(refused) == 45 and all(r.status == 409 for r in refused)
        assert (await account("900")).balance == 0
        await services.update_accounts(["901"], {"credit": Decimal("2")})
        await services.correct("901", "-2", "x", "t", NOON)
        with pytest.raises(services.BillingError) as lowered:
            await services.update_accounts(["900", "901"], services.bulk_changes(
                {"credit": "1", "payment_type": "postpaid"}))
        assert lowered.value.status == 409 and (await account("900")).credit == 0
        await services.recharge(["900"], "1", "t", NOON)
        with pytest.raises(services.BillingError) as top:  # 900 would pass the maximum
            await services.recharge(["901", "900"], MAX, "t", NOON)
        assert top.value.status == 400 and top.value.field == "amount"
        assert (await account("901")).balance == Decimal("-2")  # all or none
        # a settlement the account cannot pay is billed until the boundary it can
        await services.create_rate({"prefix": "9", "initial_cost": "0", "initial_time": 0,
                                    "rate": "0.5", "unit": 6, "extensions": "all"})
        rate = (await services.active_rules())[0].to_json()
        await services.recharge(["901"], "3", "t", NOON)  # balance 1, credit 2: 3 available
        await ledger.open_call("p1", "901", "Ext 901", rate)
        assert await ledger.settle("p1", Decimal("5"), 60.0, "2026-11-20", True, 60.0) == \
            Decimal("3")
        assert (await account("901")).balance == Decimal("-2")
        assert (await BillingCall.get(call_id="p1")).billed_time == 36.0  # 6 units paid
        await assert_books()
    finally:
        await app.close()
