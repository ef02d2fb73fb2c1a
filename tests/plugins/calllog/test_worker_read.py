"""On an SQLite file the call-log export is ONE query the export worker reads and writes
itself (no row crosses the product's process): the same CSV bytes and .xlsx cells as the
chunked path, for awkward rows, in another language and time zone, with billing's cost
and rate, filtered, sorted either way."""

from __future__ import annotations

import io

import openpyxl
import pytest

from coovox.plugins.calllog import export
from tests.support.calllog_rows import export_client, opened

QUERIES = ("", "&keyword=Ann", "&sort=started_at&status=busy", "&keyword=zz",
           "&sort=started_at", "&sort=-started_at&keyword=Bob")


async def downloads(client, headers: dict[str, str], fmt: str,
                    query: str) -> tuple[bytes, bytes]:
    """The same download read by the worker and by the product's process (chunks)."""
    out = []
    for worker in (True, False):
        export.USE_WORKER_READ = worker
        try:
            resp = await client.get(f"/api/v1/calls?format={fmt}{query}", headers=headers)
            assert resp.status == 200, await resp.text()
            out.append(await resp.read())
        finally:
            export.USE_WORKER_READ = True
    return out[0], out[1]


def cells(book: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(book), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(("timezone", "lang", "decimals"), [
    ("America/New_York", "zh", 2), ("Asia/Kolkata", "en", 4)])
async def test_the_worker_reads_the_same_export(tmp_path, aiohttp_client, monkeypatch,
                                                timezone, lang, decimals):
    taken = []
    real = export.worker_source

    def spy(*args):
        taken.append(source := real(*args))
        return source

    monkeypatch.setattr(export, "worker_source", spy)
    async with opened(None, tmp_path / "d", timezone) as app:
        client, headers = await export_client(app, aiohttp_client, decimals, lang)
        fast, slow = await downloads(client, headers, "csv", "")
        assert taken and taken[0] is not None, "the worker did not read the export"
        assert fast.count(b"\r\n") >= 45 and b"Local, day" in fast
        assert fast == slow
        for query in QUERIES:
            fast, slow = await downloads(client, headers, "csv", query)
            assert fast == slow, query
            fast, slow = await downloads(client, headers, "xlsx", query)
            assert cells(fast) == cells(slow), query
