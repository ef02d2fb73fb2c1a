"""The call record's arithmetic, pure (no I/O): what finishing a call writes, raw SQL values
read back as Tortoise gives them, and the call-log row of the JSON API."""

from datetime import UTC, datetime, timedelta

import pytest

from coovox.plugins.calls import causes, records
from coovox.plugins.calls.models import Call
from coovox.plugins.calls.records import db_value, finished_fields, python_value, record_of

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_an_answered_call_gets_its_talk_time_and_billed_time_never_above_it():
    fields = finished_fields(T0, T0 + timedelta(seconds=5), causes.ANSWERED, "x" * 80,
                             T0 + timedelta(seconds=65), 16, 99.0, {"trunk": "t1"})
    assert fields == {"trunk": "t1", "status": causes.ANSWERED, "reason": "x" * 64,
                      "ended_at": T0 + timedelta(seconds=65), "cause": 16, "duration": 65.0,
                      "talk_time": 60.0, "billed_talk_time": 60.0}
    cut = finished_fields(T0, T0, causes.ANSWERED, "", T0 + timedelta(seconds=30), None,
                          12.5, {})
    assert (cut["talk_time"], cut["billed_talk_time"]) == (30.0, 12.5)


def test_an_unanswered_call_has_no_talk_time_and_a_clock_step_back_no_negative_time():
    fields = finished_fields(T0, T0, "busy", "", T0 - timedelta(seconds=3), 17, None, {})
    assert (fields["duration"], fields["talk_time"], fields["billed_talk_time"]) == \
        (0.0, None, None)


def test_raw_values_read_back_as_tortoise_gives_them():
    assert python_value("started_at", "2026-11-20 12:00:00") == T0  # naive text is UTC
    assert python_value("ended_at", "2026-11-20T20:00:00+08:00") == T0
    assert python_value("decisions", '{"cap": 3}') == {"cap": 3}
    assert python_value("talk_time", 1.5) == 1.5 and python_value("pin", None) is None
    assert db_value("decisions", {"cap": 3}) == '{"cap": 3}'
    assert db_value("decisions", None) is None and db_value("status", "answered") == "answered"


def test_the_call_log_row_rounds_times_to_milliseconds():
    row = Call(id="c1", started_at=T0, answered_at=None, ended_at=T0 + timedelta(seconds=2),
               extension="100", extension_name="Alice", dialed="9123", sent="123", rule="Out",
               trunk="pstn", pin="", status="busy", reason="", cause=17, duration=2.00049,
               talk_time=None, billed_talk_time=None, node="n1")
    record = record_of(row)
    assert record["started_at"] == "2026-11-20T12:00:00+00:00" and record["answered_at"] is None
    assert (record["duration"], record["talk_time"]) == (2.0, None)
    assert record["node"] == "n1" and record["cause"] == 17


def test_a_new_record_written_by_raw_sql_gets_the_models_defaults():
    described = Call.describe(serializable=False)
    model = {f["db_column"]: f for f in [described["pk_field"], *described["data_fields"]]}
    assert set(model) == set(records.COLUMNS)
    for column, value in records.DEFAULTS.items():
        assert value == model[column]["default"], column
    for column in records.REQUIRED:
        assert not model[column]["nullable"] and model[column]["default"] is None, column
    row = records.new_record({"id": "c1", "started_at": T0, "extension": "100",
                              "dialed": "900", "trunk": "t1"})
    assert (row["trunk"], row["status"], row["sent"]) == ("t1", causes.ACTIVE, "")


def test_raw_sql_names_only_columns_of_the_record():
    with pytest.raises(ValueError, match="not columns"):
        records.checked_columns({"status = 'x'; --": 1})
    with pytest.raises(ValueError, match="needs"):
        records.new_record({"id": "c1", "extension": "100", "dialed": "9"})
