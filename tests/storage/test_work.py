"""Units of work (:mod:`coovox.storage.work`): all or nothing, one trip on SQLite, errors
as Tortoise reports them, savepoints that fail alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tortoise.exceptions import IntegrityError

from coovox.plugins.billing.models import Account
from coovox.storage.work import Exec, Rows, Work, numbered, one, savepoint, store

ADD = ("INSERT INTO billing_account (extension, enabled, balance, credit, payment_type, "
       "status, total_recharges) VALUES (?, ?, ?, 0, 'prepaid', 'unlocked', 0)")


def add(extension: str, units: int, fail: bool = False) -> Work[int]:
    yield Exec(ADD, [extension, False, units])
    if fail:
        raise RuntimeError("half way")
    rows = yield Rows("SELECT COUNT(*) AS n FROM billing_account")
    return int(rows[0]["n"])


async def test_a_unit_of_work_commits_or_leaves_nothing(coovox):
    trips: list[str] = []
    s = store()
    assert s.one_trip  # an SQLite file: its own connection
    s.on_trip = trips.append
    try:
        with pytest.raises(RuntimeError):
            await s.run(add("100", 15000, fail=True))
        assert not await Account.exists(extension="100")  # rolled back
        assert await s.run(add("100", 15000)) == 1
        with pytest.raises(IntegrityError):  # a duplicate key, as Tortoise reports it
            await s.run(add("100", 1))
    finally:
        s.on_trip = None
    assert trips == ["add", "add", "add"]  # one trip per unit
    acc = await Account.get(extension="100")  # seen by Tortoise's connection
    assert (acc.balance, acc.credit, acc.status, acc.enabled) == (Decimal("1.5"), 0,
                                                                  "unlocked", False)


def twice(extension: str) -> Work[list[str]]:
    """The second insert fails alone under its savepoint; the first one stays."""
    first, error = yield from savepoint(add(extension, 1))
    again, error2 = yield from savepoint(add(extension, 2))
    row = yield from one("SELECT balance FROM billing_account WHERE extension = ?",
                         [extension])
    return [str(first), type(error).__name__, str(again), type(error2).__name__,
            str(row and row["balance"])]


async def test_a_savepoint_fails_alone(coovox):
    assert await store().run(twice("200")) == ["1", "NoneType", "None", "IntegrityError",
                                              "1"]


def test_placeholders_are_numbered_for_postgresql():
    assert numbered("UPDATE t SET a = ? WHERE b = ? AND c = ?") == \
        "UPDATE t SET a = $1 WHERE b = $2 AND c = $3"


async def test_inside_a_tortoise_transaction_a_unit_joins_it(coovox):
    """Tortoise's connection holds the write lock there: the unit runs on it (a savepoint
    of that transaction), never on the store's own connection (which would wait)."""
    from tortoise.transactions import in_transaction

    with pytest.raises(RuntimeError):
        async with in_transaction():
            assert not store().one_trip
            assert await store().run(add("300", 1)) == 1
            raise RuntimeError("the outer transaction fails")
    assert store().one_trip
    assert not await Account.exists(extension="300")  # rolled back with it


async def test_a_read_does_not_wait_for_a_unit_of_work_in_progress(coovox):
    """The gate's reads go through ``store().read``: while a long unit holds the store's
    thread (an import's batch), a read answers at once with what is committed."""
    import asyncio
    import threading

    held, release = threading.Event(), threading.Event()

    def slow(extension: str) -> Work[None]:
        yield Exec(ADD, [extension, True, 500])
        held.set()
        release.wait(10)  # still inside the transaction, in the store's thread

    s = store()
    writing = asyncio.ensure_future(s.run(slow("300")))
    try:
        assert await asyncio.to_thread(held.wait, 10)
        row = await asyncio.wait_for(s.read(one(
            "SELECT COUNT(*) AS n FROM billing_account WHERE extension = ?", ["300"])), 2)
        assert row["n"] == 0  # not committed yet: not seen
    finally:
        release.set()
        await writing
    row = await s.read(one("SELECT balance FROM billing_account WHERE extension = ?",
                           ["300"]))
    assert row["balance"] == 500  # committed: seen by the next read
