"""Work run in one trip to SQLite's database thread: all or nothing, like a transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from coovox.plugins.billing.models import Account, BillingCall
from coovox.storage import direct


def _insert(model, **fields):
    columns, values = direct.db_values(model, direct.with_defaults(model, fields))
    return direct.insert_sql(model, columns), values


async def test_a_unit_of_work_commits_or_leaves_nothing(coovox):
    db = direct.client()
    assert db is not None
    query, values = _insert(Account, extension="100", balance=Decimal("1.5"))

    def add_then_fail(conn):
        conn.execute(query, values)
        raise RuntimeError("half way")

    with pytest.raises(RuntimeError):
        await direct.run(db, add_then_fail)
    assert not await Account.exists(extension="100")  # rolled back
    await direct.run(db, lambda conn: conn.execute(query, values))
    acc = await Account.get(extension="100")  # the model's defaults were written too
    assert (acc.balance, acc.credit, acc.status, acc.enabled) == (Decimal("1.5"), 0,
                                                                  "unlocked", False)
    with pytest.raises(IntegrityError):  # a duplicate key, as Tortoise reports it
        await direct.run(db, lambda conn: conn.execute(query, values))
    read = await direct.run(db, lambda conn: conn.execute(
        "SELECT balance FROM billing_account").fetchall(), write=False)
    assert [tuple(r) for r in read] == [(15000,)]


async def test_json_and_booleans_are_stored_as_tortoise_stores_them(coovox):
    query, values = _insert(BillingCall, call_id="c1", extension="100",
                            rate={"id": 1, "remark": "中文"}, answered=True)
    await direct.run(direct.client(), lambda conn: conn.execute(query, values))
    row = await BillingCall.get(call_id="c1")
    assert (row.rate, row.answered, row.settled, row.charged, row.cost) == (
        {"id": 1, "remark": "中文"}, True, False, 0, None)


async def test_no_direct_client_inside_a_tortoise_transaction(coovox):
    assert direct.client() is not None
    async with in_transaction():
        assert direct.client() is None  # the caller takes its Tortoise path there
