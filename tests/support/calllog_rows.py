"""Awkward call-log rows (formula-like names, quotes, line breaks, Chinese, ties of
rounding, rows with and without billing) in an app opened on a given database: what the
export tests compare the fast paths and the Python path on."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost

T0 = datetime(2026, 3, 8, 6, 59, 58, 999999, tzinfo=UTC)  # New York's clocks go forward
NAMES = ["=1+2", "Ann, \"the\" boss", "+1 Bob", "", "@x", "-12.50", "line\nbreak",
         "back\\slash\ttab\r", "张三", "-", "'quoted"]
# Python's round(x, 3) decides ties on the exact binary value, half-even on exact ties
SECONDS = [30.12345, 2.675, 1.0625, 0.0005, 12.2345, 0.0, 7.0, 1e-4, 123456.7895, 0.9995,
           None]


@contextlib.asynccontextmanager
async def opened(url: str | None, folder: Path, timezone: str) -> AsyncIterator[Coovox]:
    """The app on ``url`` (None: the default SQLite file in ``folder``), not taking calls."""
    given = {"database_url": url} if url else {}
    config = load_config(environ={}, data_dir=str(folder), secret_key="x", timezone=timezone,
                         **given)
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        from coovox.plugins.billing.plugin import coovox_startup

        coovox_startup(app)  # billing's services: money decimals, its fields in SQL
        yield app
    finally:
        await app.close()


async def make_rows(n: int = 44) -> None:
    from coovox.plugins.billing.models import BillingCall
    from coovox.plugins.calls.models import Call

    for i in range(n):
        start = T0 + timedelta(seconds=i // 3, microseconds=i)
        seconds = SECONDS[i % len(SECONDS)]
        await Call.create(
            id=f"c{i:02d}" if i % 7 else f"=c{i}", node="n", started_at=start,
            answered_at=start + timedelta(seconds=2) if i % 2 else None,
            ended_at=start + timedelta(seconds=30.1234) if i % 9 else None,
            extension=str(200 + i % 4), extension_name=NAMES[i % len(NAMES)],
            dialed=f"-9{i}" if i % 4 else f"9,{i}", pin="12" if i % 5 == 0 else None,
            status=["answered", "busy", "no answer", "failed", "active"][i % 5],
            reason=["", "cut: balance", "caller hung up", "odd, reason"][i % 4],
            cause=16 if i % 3 else None, duration=seconds,
            talk_time=None if seconds is None else seconds / 3)
        if i % 6:
            rate = {"id": i, "remark": ["", "Local, day", "=SUM(A1)", None][i % 4]}
            await BillingCall.create(
                call_id=f"c{i:02d}" if i % 7 else f"=c{i}", extension=str(200 + i % 4),
                rate=rate if i % 11 else None, charged=Decimal(i * 37) / 1000 - 1,
                cost=Decimal("0.0050") * i if i % 3 else None, settled=bool(i % 2))


async def export_client(app: Coovox, aiohttp_client, decimals: int,
                        lang: str) -> tuple[Any, dict[str, str]]:
    """The awkward rows in ``app``, money shown with ``decimals``, and a web client with
    the headers of an administrator's token reading in ``lang``."""
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    async def money_decimals() -> int:
        return decimals

    app.services["money_decimals"] = money_decimals  # the currency's, a setting
    await make_rows()
    await create_user("admin", "Admin-pass-1")
    headers = {"Authorization": f"Bearer {(await create_token('admin'))[1]}",
               "Accept-Language": lang}
    return await aiohttp_client(create_app(app)), headers
