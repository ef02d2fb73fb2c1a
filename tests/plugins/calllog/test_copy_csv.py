"""The call-log CSV on PostgreSQL comes from one ``COPY`` formatted by the database: the
same bytes as the Python path (export worker) for awkward rows, in another language and
time zone, with billing's cost and rate."""

from __future__ import annotations

import pytest

from coovox.plugins.calllog import copy_csv, export
from coovox.plugins.calllog.copy_csv import TextLines
from tests.support.calllog_rows import export_client, opened


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
    used = []
    real = copy_csv.copy_lines

    async def spy(*args):
        used.append(True)
        await real(*args)

    monkeypatch.setattr(export, "copy_lines", spy)
    async with opened(pg_url, tmp_path / "d", timezone) as app:
        client, headers = await export_client(app, aiohttp_client, decimals, lang)
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
