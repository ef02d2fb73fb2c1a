"""Point 1: the money checker finds what is wrong (so a passing scenario means something),
and ``coovox check`` reports it and exits non-zero."""

from __future__ import annotations

import subprocess
import sys

from coovox.plugins.billing import sql
from coovox.plugins.billing.models import BillingCall
from tests.reliability.books import book_problems
from tests.support.billing import place_call, setup_billing
from tests.support.restart import ROOT


def _check(data_dir: str) -> subprocess.CompletedProcess:
    env = {"COOVOX_DATA_DIR": data_dir, "COOVOX_SECRET_KEY": "test-secret", "PATH": "/usr/bin"}
    return subprocess.run([sys.executable, "-m", "coovox", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


async def test_each_kind_of_wrong_books_is_found(coovox, meter, control):
    await setup_billing(balance="1")
    for i, seconds in enumerate((30, 75, 130)):
        await place_call(meter, control, f"c{i}", seconds)
    assert await book_problems() == []
    ok = _check(coovox.config.data_dir)
    assert ok.returncode == 0 and "hold" in ok.stdout, ok.stdout + ok.stderr

    # 1. a balance that does not match recharges - costs: found, and the command fails
    await sql.execute("UPDATE billing_account SET balance = balance - 100 "
                      "WHERE extension = '100'")
    problems = await book_problems()
    assert any(p.startswith("extension 100: balance") for p in problems), problems
    bad = _check(coovox.config.data_dir)
    assert bad.returncode == 1 and "extension 100" in bad.stdout, bad.stdout + bad.stderr
    await sql.execute("UPDATE billing_account SET balance = balance + 100 "
                      "WHERE extension = '100'")
    assert await book_problems() == []

    # 2. a call charged more than its formula, ledger and balance made to agree with it
    await sql.execute("UPDATE billing_call SET cost = cost + 100, charged = charged + 100 "
                      "WHERE call_id = 'c1'")
    await sql.execute("INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                      "VALUES ('c1', 99, '100', 100, 'charge')")
    await sql.execute("UPDATE billing_account SET balance = balance - 100 "
                      "WHERE extension = '100'")
    assert [p for p in await book_problems() if "c1" in p and "formula" in p]

    # 3. a call settled twice (settlements of 0 leave every sum unchanged)
    for seq in (-2, -3):
        await sql.execute("INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                          f"VALUES ('c2', {seq}, '100', 0, 'settle')")
    assert [p for p in await book_problems() if "c2" in p and "settlements" in p]

    # 4. a ledger row of a call billing does not know
    await sql.execute("INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                      "VALUES ('ghost', 0, '100', 0, 'charge')")
    assert [p for p in await book_problems() if "ghost" in p]
    assert await BillingCall.filter(call_id__in=["c0", "c1", "c2"]).count() == 3
