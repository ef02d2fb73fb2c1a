"""The cells of exports (pure): formula guard, times, money, words."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coovox.export_files import MONEY, NUMBER, TIME, WORD, Cells, Column, Style, neutral
from coovox.storage.money import from_units
from coovox.web.formats import as_datetime

COLUMNS = [Column("t", "Time", TIME), Column("m", "Cost", MONEY), Column("s", "Status", WORD),
           Column("n", "Calls", NUMBER), Column("x", "Name")]
STYLE = Style(timezone="Asia/Shanghai", decimals=2, words={"busy": "忙"})
ROW = {"t": "2026-11-20 23:30:05.123456+00:00", "m": "-0.1250", "s": "busy", "n": "3",
       "x": "=1+1"}


def test_the_formula_guard_leaves_plain_negative_numbers_alone():
    assert [neutral(t) for t in ("-1.50", "-3", "=cmd|' /C calc'!A0", "+1+1", "@x", "-2+3",
                                 "-1e5", "-", "a-b", "")] == [
        "-1.50", "-3", "'=cmd|' /C calc'!A0", "'+1+1", "'@x", "'-2+3", "'-1e5", "'-", "a-b", ""]


def test_csv_cells_are_texts_as_pages_show_them():
    assert Cells(COLUMNS, STYLE, csv=True).row(ROW) == [
        "2026-11-21 07:30:05", "-0.13", "忙", 3, "'=1+1"]
    assert Cells(COLUMNS, STYLE, csv=True).row({}) == ["", "", "", "", ""]


def test_xlsx_cells_are_dates_and_decimals():
    assert Cells(COLUMNS, STYLE, csv=False).row(ROW) == [
        datetime(2026, 11, 21, 7, 30, 5, 123456), Decimal("-0.1250"), "忙", 3, "'=1+1"]


# --- stored values (the SQLite export read by the worker) show as their records do ----------

ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**9, 10**9), st.integers(0, 4))
def test_money_in_units_shows_as_its_decimal_does(units, decimals):
    cells = Cells(COLUMNS, Style(decimals=decimals), csv=True)
    assert cells.stored_money(units) == cells._money(from_units(units))


@pytest.mark.parametrize("units", [5000, -5000, 50, -50, 49, -49, 0, -1, 15000, -25000])
@pytest.mark.parametrize("decimals", [0, 2, 3])
def test_money_ties_round_away_from_zero_without_minus_zero(units, decimals):
    cells = Cells(COLUMNS, Style(decimals=decimals), csv=True)
    assert cells.stored_money(units) == cells._money(from_units(units))
    assert cells.stored_money(None) == ""


@settings(max_examples=300, deadline=None)
@given(st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)), st.sampled_from(ZONES),
       st.booleans(), st.booleans())
def test_a_stored_utc_time_shows_as_its_iso_record_does(moment, zone, micro, aware):
    text = moment.strftime("%Y-%m-%d %H:%M:%S") + (moment.strftime(".%f") if micro else "") \
        + ("+00:00" if aware else "")
    cells = Cells(COLUMNS, Style(timezone=zone), csv=True)
    record = as_datetime(text).isoformat()  # how the call log's record holds it
    assert cells.stored_time(text) == cells._time(record)


def test_odd_stored_values_fall_back_to_the_record_path():
    cells = Cells(COLUMNS, STYLE, csv=True)
    assert cells.stored_time(None) == cells._time(None) == ""
    assert cells.stored_time("not a time") == "not a time"
    assert cells.stored_text("=1+1") == "'=1+1" and cells.stored_text(None) == ""
    assert cells.stored_text(-2) == -2 and cells.stored_text("-1.50") == "-1.50"
