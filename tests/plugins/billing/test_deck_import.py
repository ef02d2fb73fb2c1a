"""The deck import's SQL diff on SQLite and PostgreSQL alike: rows staged in batches,
added / changed / removed / unchanged against the current version, duplicate keys and bad
lines reported by line, apply atomic (nothing staged is left behind)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import deck_import, deck_services
from coovox.plugins.billing.models import DeckRate, DeckStage
from coovox.plugins.billing.validation import BillingError

HEADER = "prefix,length,initial_cost,initial_time,rate,unit,start_time,end_time,remark\r\n"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST = HEADER + "".join(f"9{i:03d},0,0,0,0.0{i % 10}00,60,,,dest {i}\r\n" for i in range(12))
SECOND = (HEADER + "9000,0,0,0,0.0000,60,,,dest 0\r\n"       # unchanged
          "9001,0,0,0,0.0500,60,,,dest 1\r\n"                # changed rate
          "9002,0,0,0,0.0200,60,,,new name\r\n"              # changed remark
          "9100,0,0,0,0.0100,60,,,brand new\r\n")            # added; 9003..9011 removed
BAD = HEADER + "9000,0,0,0,0.01,60,,,a\r\n9x,0,0,0,1,60,,,b\r\n9000,0,0,0,0.02,60,,,c\r\n"


async def _scenario(tmp_path) -> dict[str, Any]:
    deck = await deck_services.create_deck({"name": "D", "extensions": "all"})

    async def run(text: str, apply: bool) -> dict[str, Any]:
        path = tmp_path / "deck.csv"
        path.write_text(text, encoding="utf-8")
        return await deck_services.import_file(deck.id, path, "csv", apply=apply,
                                               tz=ZoneInfo("UTC"), now=NOW)

    first = await run(FIRST, True)
    dry = await run(SECOND, False)
    bad = await run(BAD, False)
    with pytest.raises(BillingError) as refused:
        await run(BAD, True)
    second = await run(SECOND, True)
    rows = await DeckRate.filter(version_id=second["version"]).order_by("id").values_list(
        "prefix", "remark")
    return {
        "first": (first["added"], first["rows"], first["applied"]),
        "dry": {k: dry[k] for k in ("added", "changed", "removed", "unchanged", "rows")},
        "samples": (dry["samples"]["added"][0]["prefix"],
                    [(c["before"]["rate"], c["after"]["rate"], c["after"]["remark"])
                     for c in dry["samples"]["changed"]],
                    [r["prefix"] for r in dry["samples"]["removed"]][:3]),
        "bad": (bad["error_count"], [(e["line"], str(e["message"])) for e in bad["errors"]]),
        "refused": refused.value.field,
        "second": [tuple(r) for r in rows],
        "staged_left": await DeckStage.all().count(),
    }


EXPECTED = {
    "first": (12, 12, True),
    "dry": {"added": 1, "changed": 2, "removed": 9, "unchanged": 1, "rows": 4},
    "samples": ("9100", [("0.0100", "0.0500", "dest 1"), ("0.0200", "0.0200", "new name")],
                ["9003", "9004", "9005"]),
    "bad": (2, [(3, "prefix may hold only digits, *, # and + (at most 32)"),
                (4, "the same prefix, length and time window as line 2")]),
    "refused": "file",
    "second": [("9000", "dest 0"), ("9001", "dest 1"), ("9002", "new name"),
               ("9100", "brand new")],
    "staged_left": 0,
}


async def _run_on(config, tmp_path) -> dict[str, Any]:
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        return await _scenario(tmp_path)
    finally:
        await app.close()


async def test_sqlite_import_diff_and_apply(tmp_path):
    config = load_config(environ={}, data_dir=str(tmp_path / "s"), secret_key="x")
    assert await _run_on(config, tmp_path) == EXPECTED


@pytest.mark.postgres
async def test_postgresql_import_diff_and_apply(tmp_path, pg_url):
    config = load_config(environ={}, data_dir=str(tmp_path / "p"), database_url=pg_url,
                         secret_key="x")
    assert await _run_on(config, tmp_path) == EXPECTED


def test_rows_are_streamed_from_the_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(FIRST, encoding="utf-8")
    out = deck_import.Parsed()
    rows = deck_import.iter_rows(path, "csv", "coovox", out)
    line, row = next(rows)
    assert (line, row[0], row[4]) == (2, "9000", 0)
    assert sum(1 for _ in rows) == 11 and out.error_count == 0
