"""Rate decks: longest-prefix choice with single rates, versions in effect by call start,
import dry run / apply, export round trip."""

from __future__ import annotations

import time as monotime
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from coovox.plugins.billing import deck_import, deck_services, services
from coovox.plugins.billing.decks import DeckIndex
from coovox.plugins.billing.models import DeckRate
from coovox.plugins.billing.rating import RateRule, choose_rate
from tests.support.billing import (
    NOON,
    call_info,
    make_extensions,
    place_call,
    setup_billing,
)

UTCZ = ZoneInfo("UTC")
HEADER = "prefix,length,initial_cost,initial_time,rate,unit,start_time,end_time,remark\r\n"


def write(tmp_path, text: str, name: str = "deck.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def deck_with(tmp_path, text: str, *, extensions="all", at=None, name="Carrier A"):
    deck = await deck_services.create_deck({"name": name, "extensions": extensions})
    await apply(tmp_path, deck.id, text, at)
    return deck


async def apply(tmp_path, deck_id, text, at=None, layout="coovox"):
    return await deck_services.import_file(
        deck_id, write(tmp_path, text), "csv", layout=layout, apply=True,
        effective_from=at.isoformat() if at else "", tz=UTCZ, now=NOON - timedelta(days=1))


def test_index_agrees_with_the_rule_scan():
    rules = [RateRule(id=i, prefix=p, length=n, rate=Decimal(1), unit=60,
                      start=s, end=e)
             for i, (p, n, s, e) in enumerate([
                 ("9", 0, time(0), time(0)), ("91", 0, time(0), time(0)),
                 ("9123", 0, time(0), time(0)), ("9123", 9, time(0), time(0)),
                 ("912", 0, time(22), time(6)), ("8", 5, time(0), time(0))], 1)]
    index = DeckIndex(rules)
    for dialed in ("912345678", "9123", "91234", "912999999", "92", "81234", "812345", "7"):
        for at in (time(12), time(23)):
            assert index.choose(dialed, at) == choose_rate(rules, dialed, "100", at), dialed


async def test_deck_rate_bills_a_call_and_the_copy_names_the_deck(coovox, meter, control,
                                                                   tmp_path):
    await setup_billing(balance="10", rate={"prefix": "7", "rate": "1", "unit": 60,
                                            "extensions": "all"})
    await deck_with(tmp_path, HEADER + "9,0,0.1000,60,0.0200,55,00:00:00,00:00:00,Land\r\n")
    decision = await meter.gate(call_info("c1"))
    assert decision.data["rate"]["deck"] == "Carrier A"
    assert decision.data["rate"]["rate"] == "0.0200"
    await place_call(meter, control, "c2", 116)
    acc = await services.get_account("100")
    assert acc["balance"] == "9.8600"  # 0.14 for 116 s (billing.md example)


async def test_most_specific_wins_and_a_single_rate_wins_a_tie(coovox, meter, tmp_path):
    await setup_billing(balance="10", rate={"prefix": "91", "rate": "0.5", "unit": 60,
                                            "extensions": "all"})
    await deck_with(tmp_path, HEADER + "91,0,0,0,0.3000,60,,,tie\r\n"
                    "912,0,0,0,0.2000,60,,,longer\r\n")
    d = await meter.gate(call_info("a", dialed="912345678"))
    assert d.data["rate"]["rate"] == "0.2000"  # deck: longer prefix
    d = await meter.gate(call_info("b", dialed="913345678"))
    assert d.data["rate"]["rate"] == "0.5000" and "deck" not in d.data["rate"]  # tie: single


async def test_deck_applies_only_to_its_extensions(coovox, meter, tmp_path):
    await setup_billing(balance="10")
    await make_extensions("101")
    await services.update_accounts(["101"], {"enabled": True})
    await services.recharge(["101"], "10", "t", NOON)
    await deck_with(tmp_path, HEADER + "91,0,0,0,0.3000,60,,,x\r\n", extensions=["101"])
    assert (await meter.gate(call_info("a", "100"))).data["rate"]["rate"] == "0.0200"
    assert (await meter.gate(call_info("b", "101"))).data["rate"]["rate"] == "0.3000"


async def test_scheduled_prices_follow_the_call_start(coovox, meter, tmp_path):
    await setup_billing(balance="10", rate={"prefix": "7", "rate": "1", "unit": 60,
                                            "extensions": "all"})
    deck = await deck_with(tmp_path, HEADER + "9,0,0,0,0.1000,60,,,old\r\n",
                           at=NOON - timedelta(days=1))
    change = NOON + timedelta(hours=1)
    await apply(tmp_path, deck.id, HEADER + "9,0,0,0,0.3000,60,,,new\r\n", change)
    before = await meter.gate(call_info("a", started_at=change - timedelta(seconds=1)))
    after = await meter.gate(call_info("b", started_at=change))
    assert before.data["rate"]["rate"] == "0.1000"
    assert after.data["rate"]["rate"] == "0.3000"
    listed = await deck_services.versions(deck.id, NOON, UTCZ)
    assert [v["rows"] for v in listed] == [1, 1]
    assert [v["current"] for v in listed] == [False, True]


async def test_an_import_in_this_process_is_used_by_the_next_gate(coovox, meter, tmp_path):
    await setup_billing(balance="10", rate={"prefix": "7", "rate": "1", "unit": 60,
                                            "extensions": "all"})
    deck = await deck_with(tmp_path, HEADER + "9,0,0,0,0.1000,60,,,a\r\n")
    assert (await meter.gate(call_info("a"))).data["rate"]["rate"] == "0.1000"
    await apply(tmp_path, deck.id, HEADER + "9,0,0,0,0.2000,60,,,b\r\n")
    assert (await meter.gate(call_info("b"))).data["rate"]["rate"] == "0.2000"


async def test_dry_run_lists_changes_and_every_bad_line(coovox, tmp_path):
    await make_extensions("100")
    deck = await deck_with(tmp_path, HEADER + "44,0,0,0,0.1000,60,,,UK\r\n"
                           "33,0,0,0,0.1000,60,,,FR\r\n"
                           "49,0,0,0,0.1000,60,,,DE\r\n")
    text = (HEADER + "44,0,0,0,0.1000,60,,,UK\r\n"
            "33,0,0,0,0.2000,60,,,FR\r\n"
            "1,0,0,0,0.0100,60,,,US\r\n"
            "12a,0,0,0,0.1,60,,,bad prefix\r\n"
            "2,0,0,0,0.12345,60,,,too precise\r\n"
            "1,0,0,0,0.0200,60,,,duplicate\r\n"
            "3,0,0,0,0.1,0,,,unit 0\r\n")
    result = await deck_services.import_file(deck.id, write(tmp_path, text), "csv",
                                             tz=UTCZ, now=NOON)
    assert (result["added"], result["changed"], result["removed"], result["unchanged"]) == \
        (1, 1, 1, 1)
    assert [e["line"] for e in result["errors"]] == [5, 6, 7, 8]
    assert "prefix" in result["errors"][0]["message"]
    assert "line 4" in result["errors"][2]["message"]
    assert result["samples"]["changed"][0]["after"]["rate"] == "0.2000"
    assert result["applied"] is False
    with pytest.raises(deck_services.BillingError):  # atomic: nothing applied
        await deck_services.import_file(deck.id, write(tmp_path, text), "csv", apply=True,
                                        tz=UTCZ, now=NOON)
    assert len(await deck_services.versions(deck.id, NOON, UTCZ)) == 1


async def test_carrier_layout_maps_prefix_destination_rate(coovox, tmp_path):
    await make_extensions("100")
    deck = await deck_services.create_deck({"name": "C", "extensions": "all"})
    text = "Dial Code;Destination;Rate per minute\n44;United Kingdom;0.0123\n"
    result = await apply(tmp_path, deck.id, text, layout="carrier")
    assert result["added"] == 1
    rows = await DeckRate.all().values("prefix", "rate", "unit", "remark")
    assert rows == [{"prefix": "44", "rate": Decimal("0.0123"), "unit": 60,
                     "remark": "United Kingdom"}]


async def test_xlsx_import(coovox, tmp_path):
    from openpyxl import Workbook

    await make_extensions("100")
    deck = await deck_services.create_deck({"name": "X", "extensions": "all"})
    book = Workbook()
    sheet = book.active
    sheet.append(["prefix", "rate", "unit", "remark"])
    sheet.append([44, "0.0500", 60, "UK"])
    sheet.append([33, 0.25, 30, "FR"])
    path = tmp_path / "d.xlsx"
    book.save(path)
    result = await deck_services.import_file(deck.id, path, "xlsx", apply=True, tz=UTCZ,
                                             now=NOON)
    assert result["added"] == 2 and result["error_count"] == 0


async def test_export_round_trips_exactly(coovox, tmp_path):
    await make_extensions("100")
    text = (HEADER + "44,0,0.0000,0,0.1000,60,00:00:00,00:00:00,UK\r\n"
            "4420,11,0.0500,30,0.0150,6,22:00:00,06:00:00,\"London, night\"\r\n"
            "1,0,0.0000,0,0.0100,1,00:00:00,00:00:00,'=SUM(A1)\r\n")
    deck = await deck_with(tmp_path, text)
    _, _, rows = await deck_services.export_rows(deck.id, None, NOON)
    exported = "".join(deck_import.export_csv(rows))
    assert exported == text
    again = await deck_services.import_file(deck.id, write(tmp_path, exported), "csv",
                                            tz=UTCZ, now=NOON)
    assert again["unchanged"] == 3 and again["added"] == again["changed"] == 0


async def test_100k_rows_validate_and_apply_quickly(coovox, tmp_path):
    await make_extensions("100")
    deck = await deck_services.create_deck({"name": "Big", "extensions": "all"})
    lines = [HEADER] + [f"{100000 + i},0,0,0,0.{i % 10000:04d},60,,,d{i}\r\n"
                        for i in range(100_000)]
    path = write(tmp_path, "".join(lines))
    started = monotime.perf_counter()
    result = await deck_services.import_file(deck.id, path, "csv", apply=True, tz=UTCZ,
                                             now=NOON)
    assert result["added"] == 100_000
    assert monotime.perf_counter() - started < 10


async def test_lookup_says_what_a_number_costs(coovox, meter, tmp_path):
    await setup_billing(balance="10")
    await deck_with(tmp_path, HEADER + "912,0,0,0,0.3000,60,,,x\r\n")
    out = await deck_services.lookup(meter, "100", "912345", NOON)
    assert out["rate"]["rate"] == "0.3000" and out["source"] == {"deck": "Carrier A"}
    out = await deck_services.lookup(meter, "100", "555", NOON)
    assert out["rate"] is None
    with pytest.raises(deck_services.BillingError):
        await deck_services.lookup(meter, "999", "555", NOON)


def test_utc_helper():
    assert deck_services.effective_time("2026-12-01T00:00", ZoneInfo("Asia/Shanghai"),
                                        NOON) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


async def test_a_scheduled_version_is_indexed_before_it_takes_effect(coovox, meter,
                                                                      tmp_path):
    await setup_billing(balance="10", rate={"prefix": "7", "rate": "1", "unit": 60,
                                            "extensions": "all"})
    real_now = datetime.now(UTC)
    deck = await deck_with(tmp_path, HEADER + "9,0,0,0,0.1000,60,,,old\r\n",
                           at=real_now - timedelta(days=1))
    await apply(tmp_path, deck.id, HEADER + "9,0,0,0,0.3000,60,,,new\r\n",
                real_now + timedelta(days=1))
    meter.decks.wall = lambda: real_now
    await meter.gate(call_info("a", started_at=real_now))
    await meter.decks.ready()
    assert len(meter.decks.indexes) == 2  # the version in effect and the next one
    meter.decks.wall = lambda: real_now + timedelta(days=2)
    await apply(tmp_path, deck.id, HEADER + "9,0,0,0,0.5000,60,,,newest\r\n",
                real_now + timedelta(days=3))
    later = await meter.gate(call_info("b", started_at=real_now + timedelta(days=2)))
    assert later.data["rate"]["rate"] == "0.3000"
    await meter.decks.ready()
    assert len(meter.decks.indexes) == 2  # the first version, no longer in effect, dropped
