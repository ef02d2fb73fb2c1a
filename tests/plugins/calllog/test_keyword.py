"""The call log's keyword filter: "contains", any case, on SQLite (FTS5 trigram index kept
by triggers) and PostgreSQL (pg_trgm), with exact totals and identical pages whichever
plan the page takes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from coovox.plugins.calllog import keyword
from coovox.plugins.calllog.queries import CALL_LIST, filtered_calls
from coovox.plugins.calls.models import Call

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NAMES = ["Alice Smith", "bob", "ALICE-2", "Zoë 100%", "王芳", "under_score", "", "Carol"]


async def make_calls(n: int = 60) -> list[Call]:
    rows = []
    for i in range(n):
        rows.append(await Call.create(
            id=f"k{i:03d}", node="n", started_at=T0 + timedelta(minutes=i // 2),  # ties
            extension=str(100 + i % 7), extension_name=NAMES[i % len(NAMES)],
            dialed=f"9{i:03d}5550", status="answered" if i % 3 else "busy"))
    return rows


def expected(rows: list[Call], word: str, fields=("extension", "extension_name", "dialed")):
    w = word.lower()
    hits = [r for r in rows if any(w in getattr(r, f).lower() for f in fields)]
    hits.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    return [r.id for r in hits]


async def page_ids(query: dict[str, str]) -> tuple[list[str], int]:
    lq = CALL_LIST.parse(query, strict=True)
    page = await CALL_LIST.fetch(filtered_calls(query, "UTC"), lq, strict=True)
    return [r.id for r in page.items], page.total


WORDS = ["alice", "ALICE", "Alice Smith", "ice-2", "zoë", "100%", "0%", "under_", "r_s",
         "%", "_", "王", "王芳", "555", "9012", "10", "1", "nothing here", 'a"b']


async def check_words(rows: list[Call]) -> None:
    for word in WORDS:
        want = expected(rows, word)
        got: list[str] = []
        total = None
        for page in range(1, 5):
            ids, total = await page_ids({"keyword": word, "page": str(page),
                                         "per_page": "20"})
            got += ids
        assert total == len(want), word
        assert got == want, word


async def test_keyword_is_contains_any_case_with_exact_totals(coovox):
    rows = await make_calls()
    await check_words(rows)


async def test_both_page_plans_give_the_same_pages(coovox, monkeypatch):
    rows = await make_calls()
    monkeypatch.setattr(keyword, "WALK_MIN", 0)  # every prepared keyword walks the index
    await check_words(rows)


async def test_index_follows_renames_and_deletes(coovox):
    rows = await make_calls(10)
    await Call.filter(id="k001").update(extension_name="Renamed Person")
    await Call.filter(id="k000").delete()
    ids, total = await page_ids({"keyword": "renamed"})
    assert (ids, total) == (["k001"], 1)
    ids, total = await page_ids({"keyword": "alice"})
    assert "k000" not in ids and total == len(ids) == len(
        [r for r in rows[1:] if "alice" in r.extension_name.lower()])
    ids, _ = await page_ids({"keyword": "bob"})
    assert "k001" not in ids


async def test_keyword_with_other_filters_and_export(admin_client):
    rows = await make_calls()
    want = [i for i in expected(rows, "alice") if int(i[1:]) % 3]
    body = await (await admin_client.get(
        "/api/v1/calls?keyword=alice&status=answered&per_page=100")).json()
    assert [i["id"] for i in body["items"]] == want and body["total"] == len(want)
    resp = await admin_client.get("/api/v1/calls?keyword=alice&status=answered&format=csv")
    text = (await resp.read()).decode("utf-8-sig")
    exported = [r["ID"] for r in csv.DictReader(io.StringIO(text))]
    assert exported == want


async def test_billing_keyword_is_extension_or_name_only(coovox):
    from zoneinfo import ZoneInfo

    from coovox.plugins.billing import reports

    rows = await make_calls()
    await Call.filter(id="k059").update(status="active")
    for word in ("alice", "555", "10", "王芳"):
        want = [i for i in expected(rows, word, ("extension", "extension_name"))
                if i != "k059"]
        items, total = await reports.call_log({"keyword": word}, ZoneInfo("UTC"), 0, 100)
        assert [i["id"] for i in items] == want and total == len(want), word


async def test_keyword_on_postgresql(pg_url, tmp_path):
    from tests.support.apps import opened

    async with opened(pg_url, tmp_path / "d"):
        rows = await make_calls()
        await check_words(rows)


async def test_many_matches_on_postgresql_give_an_estimated_total(pg_url, tmp_path,
                                                                  monkeypatch):
    """Counting 100,000 matches is slow: past the thresholds the total is the planner's
    estimate and the API says so; the pages themselves stay exact, few matches are
    counted, and a keyword with other filters is counted."""
    from tests.support.apps import opened

    monkeypatch.setattr(keyword, "ESTIMATE_MIN", 0)
    monkeypatch.setattr(keyword, "EXACT_MAX", 5)
    async with opened(pg_url, tmp_path / "d"):
        rows = await make_calls()
        want = expected(rows, "alice")
        lq = CALL_LIST.parse({"keyword": "alice", "per_page": "10"}, strict=True)
        page = await CALL_LIST.fetch(filtered_calls({}, "UTC"), lq, strict=True)
        assert page.estimated and page.total > 5
        assert page.as_json(lambda c: c.id)["total_estimated"] is True
        assert [c.id for c in page.items] == want[:10]
        few = CALL_LIST.parse({"keyword": "Carol"}, strict=True)  # 7 found, > 5 ...
        monkeypatch.setattr(keyword, "EXACT_MAX", 100)  # ... but under the exact limit
        page = await CALL_LIST.fetch(filtered_calls({}, "UTC"), few, strict=True)
        assert not page.estimated and page.total == len(expected(rows, "Carol"))
        monkeypatch.setattr(keyword, "EXACT_MAX", 5)
        both = CALL_LIST.parse({"keyword": "alice", "status": "busy"}, strict=True)
        page = await CALL_LIST.fetch(filtered_calls({}, "UTC"), both, strict=True)
        assert not page.estimated
        assert page.total == len([r for r in rows if r.id in want and r.status == "busy"])


@pytest.mark.parametrize("value", ["Alice", 'say "hi"', "{x} : y", "a*", "NOT", "-x"])
def test_fts_phrase_is_one_quoted_phrase(value):
    phrase = keyword.fts_phrase(value, ("extension",))
    assert phrase.startswith("{extension} : \"") and phrase.endswith('"')
    assert phrase[len('{extension} : "'):-1].replace('""', "") == value.replace('"', "")


async def test_without_the_fts_table_keywords_scan(coovox, monkeypatch):
    """An SQLite too old for trigrams gets no FTS table: the same answers by LIKE."""
    from importlib import import_module

    from tortoise import connections

    migration = import_module("coovox.plugins.calls.migrations.0002_keyword_index")
    for statement in migration.SQLITE_DOWN:
        await connections.get("default").execute_script(statement)
    monkeypatch.setattr(keyword, "_FTS_PRESENT", {})
    rows = await make_calls()
    for word in ("alice", "ALICE", "under_", "100%", "555", "bob", "nothing here"):
        ids, total = await page_ids({"keyword": word, "per_page": "100"})
        assert ids == expected(rows, word) and total == len(ids), word
