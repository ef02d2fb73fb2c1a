"""``coovox check`` lists broken money invariants and exits non-zero."""

from __future__ import annotations

import asyncio

from coovox.cli import main
from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account
from tests.support.billing import NOON, make_extensions


async def _prepare(data_dir: str, corrupt: bool) -> None:
    config = load_config(environ={}, data_dir=data_dir, secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        await make_extensions("100")
        await services.recharge(["100"], "5", "op", NOON)
        if corrupt:
            await Account.filter(extension="100").update(balance=7)
    finally:
        await app.close()


def test_cli_exit_codes(tmp_path, monkeypatch, capsys):
    for corrupt, code in ((False, 0), (True, 1)):
        data = str(tmp_path / f"d{int(corrupt)}")
        asyncio.run(_prepare(data, corrupt))
        monkeypatch.setenv("COOVOX_DATA_DIR", data)
        assert main(["check"]) == code
        out = capsys.readouterr().out
        if corrupt:
            assert "extension 100: balance 7.0000 but recharges - costs = 5.0000" in out
        else:
            assert "invariants hold" in out


async def test_problems_found_in_the_ledger(coovox):
    await make_extensions("100")
    await services.recharge(["100"], "1", "op", NOON)
    await Account.filter(extension="100").update(balance=-3, credit=1)
    problems = await check_invariants()
    assert any("below -credit" in p for p in problems)
    assert any("recharges - costs" in p for p in problems)
