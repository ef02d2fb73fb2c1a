"""Helpers of the real-Asterisk benchmark that need no Asterisk: SIPp's screens, the
money check on a billing database, the profile summary. Figures are not checked."""

from __future__ import annotations

import cProfile
import sqlite3

from bench import real_asterisk

UAC = """\
------------------------------ Scenario Screen -------- [1-9]: Change Screen --
                                 Messages  Retrans   Timeout   Unexpected-Msg
      INVITE ---------->         50        0         0         0
         401 <----------         50        0         0         0
         200 <----------         48        0         0         0
         BYE <----------         48        0         0         0
         200 ---------->         48        0         0         0
------------------------------ Test Terminated --------------------------------
----------------------------- Statistics Screen ------- [1-9]: Change Screen --
  Successful call        |        0                  |       48
  Failed call            |        0                  |        2
"""
UAS = """\
------------------------------ Scenario Screen -------- [1-9]: Change Screen --
  ----------> INVITE             50        0         0         0
  <---------- 100                50        0
  <---------- 200                49        0         0
  ----------> ACK                49        0         0         0
  <---------- BYE                49        0         0
  ----------> 200                49        0
----------------------------- Statistics Screen ------- [1-9]: Change Screen --
"""


def test_sipp_screens_of_a_phone_and_of_a_carrier_are_read_both_ways():
    phone = real_asterisk.screen_rows(UAC)
    assert ("INVITE", "sent", 50) in phone
    assert real_asterisk.first_row(phone, "200", "received") == 48
    carrier = real_asterisk.screen_rows(UAS)
    assert ("INVITE", "received", 50) in carrier
    assert real_asterisk.first_row(carrier, "200", "sent") == 49
    assert real_asterisk.first_row(carrier, "200", "received") == 49


def test_ledger_figures_find_a_second_settlement_and_a_wrong_sum(tmp_path):
    db = tmp_path / "b.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE billing_ledger (call_id TEXT, seq INT, amount INT)")
    con.execute("CREATE TABLE billing_call (call_id TEXT, cost INT, settled BOOL)")
    con.executemany("INSERT INTO billing_ledger VALUES (?, ?, ?)",
                    [("a", 0, 100), ("a", 1, 100), ("b", 0, 100), ("b", -1, 50),
                     ("b", -1, 50), ("c", 0, 100)])
    con.executemany("INSERT INTO billing_call VALUES (?, ?, ?)",
                    [("a", 200, 1), ("b", 200, 1), ("c", 100, 0)])
    con.commit()
    con.close()
    figures = real_asterisk.ledger_figures(db, {"a", "b", "c"})
    assert figures["live_charges"] == 4 and figures["settlement_rows"] == 2
    assert figures["problems"] == ["call b: 2 settlements", "call c: billing row unsettled"]
    assert real_asterisk.ledger_figures(db, {"a"})["billing_rows_elsewhere"] == 2


def test_expected_cost_is_one_cent_per_begun_second():
    assert real_asterisk.expected_cost(None) == 0
    assert str(real_asterisk.expected_cost(1.0)) == "0.01"
    assert str(real_asterisk.expected_cost(1.004)) == "0.02"


def test_profile_summary_reads_a_cprofile_dump(tmp_path):
    prof = cProfile.Profile()
    prof.enable()
    sum(i * i for i in range(1000))
    prof.disable()
    path = tmp_path / "p.prof"
    prof.dump_stats(str(path))
    text, data = real_asterisk.summarize_cprofile(path, 10, {"cpu_s": 1.0})
    assert "event-loop thread" in text and data["loop_thread"]["top_own"]
    assert "db_thread" not in data
