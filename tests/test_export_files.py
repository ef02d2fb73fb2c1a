"""The cells of exports (pure): formula guard, times, money, words."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from coovox.export_files import MONEY, NUMBER, TIME, WORD, Cells, Column, Style, neutral

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
