"""The call-log CSV on PostgreSQL comes from one ``COPY`` formatted by the database: the
same bytes as the Python path (export worker) for awkward rows, in another language and
time zone, with billing's cost and rate."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.calllog import copy_csv, export
from coovox.plugins.calllog.copy_csv import TextLines

T0 = datetime(2026, 3, 8, 6, 59, 58, 999999, tzinfo=UTC)  # New York's clocks go forward
NAMES = ["=1+2", "Ann, \"the\" boss", "+1 Bob", "", "@x", "-12.50", "line\nbreak",
         "back\\slash\ttab\r", "张三", "-", "'quoted"]
# Python's round(x, 3) decides ties on the exact binary value, half-even on exact ties
SECONDS = [30.12345, 2.675, 1.0625, 0.0005, 12.2345, 0.0, 7.0, 1e-4, 123456.7895, 0.9995,
           None]


@contextlib.asynccontextmanager
async def opened(url: str, folder: Path, timezone: str) -> AsyncIterator[Coovox]:
    config = load_config(environ={}, data_dir=str(folder), database_url=url, secret_key="x",
                         timezone=timezone)
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


async def downloads(client, headers: dict[str, str], query: str) -> tuple[bytes, bytes]:
    """The same download by the COPY path and by the Python path."""
    out = []
    for use_copy in (True, False):
        export.USE_COPY = use_copy
        try:
            resp = await client.get(f"/api/v1/calls?format=csv{query}", headers=headers)
            assert resp.status == 200
            out.append(await resp.read())
        finally:
            export.USE_COPY = True
    return out[0], out[1]


@pytest.mark.parametrize(("timezone", "lang", "decimals"), [
    ("America/New_York", "zh", 2), ("UTC", "en", 0), ("Asia/Kolkata", "en", 4)])
async def test_copy_csv_is_the_python_csv(pg_url, tmp_path, aiohttp_client, monkeypatch,
                                          timezone, lang, decimals):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    used = []
    real = copy_csv.copy_lines

    async def spy(*args):
        used.append(True)
        await real(*args)

    monkeypatch.setattr(export, "copy_lines", spy)
    async with opened(pg_url, tmp_path / "d", timezone) as app:
        async def money_decimals() -> int:
            return decimals

        app.services["money_decimals"] = money_decimals  # the currency's, a setting
        await make_rows()
        await create_user("admin", "Admin-pass-1")
        headers = {"Authorization": f"Bearer {(await create_token('admin'))[1]}",
                   "Accept-Language": lang}
        client = await aiohttp_client(create_app(app))
        fast, slow = await downloads(client, headers, "")
        assert used, "the COPY path was not taken"
        assert fast.count(b"\r\n") >= 45
        assert fast == slow
        for query in ("&keyword=Ann", "&sort=started_at&status=busy", "&keyword=zz"):
            fast, slow = await downloads(client, headers, query)
            assert fast == slow, query


def test_text_lines_unescape_across_chunks():
    """COPY's text format escapes a line's own breaks and backslashes; a chunk may end
    anywhere, even inside an escape."""
    data = b"a,\"x\\ny\"\nplain,1\nb\\\\c\\td\\r\n"
    for cut in range(len(data) + 1):
        lines = TextLines()
        got = lines.feed(data[:cut]) + lines.feed(data[cut:])
        assert got == b"a,\"x\ny\"\r\nplain,1\r\nb\\c\td\r\r\n"
