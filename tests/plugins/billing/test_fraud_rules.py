"""The fraud guard's rules, without I/O: limits over defaults, destinations, office
hours with the dial rules' time conditions, windows, validation naming the field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from coovox.plugins.billing import fraud_rules as r
from coovox.plugins.billing.validation import BillingError

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=TZ)
MONDAY_NIGHT = datetime(2026, 11, 30, 23, 30, tzinfo=TZ)
SUNDAY_NOON = datetime(2026, 11, 29, 12, 0, tzinfo=TZ)
OFFICE = {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}


def test_extension_limits_lie_over_the_defaults():
    defaults = r.limits_from({"calls_per_hour": 30, "spend_hour": "5", "action": "alert"})
    own = r.limits_from({"spend_hour": "1.5", "blocked_prefixes": ["900"]}, defaults)
    assert own.calls_per_hour == 30 and own.action == "alert"
    assert own.spend_hour == Decimal("1.5") and own.blocked_prefixes == ("900",)
    assert own.spend_units() == (15000, r.NO_LIMIT)
    assert r.limits_from(None, defaults) is defaults


def test_block_list_allow_list_and_international_outside_office_hours():
    limits = r.Limits(blocked_prefixes=("900", "00881"))
    assert r.destination_refusal(limits, "9001234", MONDAY_NOON) == r.REFUSE_BLOCKED
    assert r.destination_refusal(limits, "0088123", MONDAY_NOON) == r.REFUSE_BLOCKED
    assert r.destination_refusal(limits, "912345", MONDAY_NOON) is None
    allow = r.Limits(allow_mode=True, allowed_prefixes=("9",))
    assert r.destination_refusal(allow, "912345", MONDAY_NOON) is None
    assert r.destination_refusal(allow, "812345", MONDAY_NOON) == r.REFUSE_NOT_ALLOWED
    intl = r.Limits(international_prefixes=("900",), office_hours=OFFICE)
    assert r.destination_refusal(intl, "90044123", MONDAY_NOON) is None
    assert r.destination_refusal(intl, "90044123", MONDAY_NIGHT) == r.REFUSE_OFFICE_HOURS
    assert r.destination_refusal(intl, "90044123", SUNDAY_NOON) == r.REFUSE_OFFICE_HOURS
    assert r.destination_refusal(intl, "912345", MONDAY_NIGHT) is None  # national
    assert r.trips_on_attempts(r.REFUSE_BLOCKED) and not r.trips_on_attempts(r.REFUSE_SPEND)


def test_office_hours_spanning_midnight_follow_the_dial_rules():
    night_shift = r.Limits(international_prefixes=("00",),
                           office_hours={"days": [0], "start": "22:00", "end": "06:00"})
    tuesday_2am = datetime(2026, 12, 1, 2, 0, tzinfo=TZ)
    assert r.destination_refusal(night_shift, "0044", tuesday_2am) is None
    assert r.destination_refusal(night_shift, "0044", MONDAY_NOON) == r.REFUSE_OFFICE_HOURS


def test_windows_and_headroom():
    assert r.hour_key(MONDAY_NIGHT) == 2026113023 and r.day_key(MONDAY_NIGHT) == 20261130
    assert r.in_window(2026113023, 2026113023, 500) == 500
    assert r.in_window(2026113022, 2026113023, 500) == 0  # another hour: starts at 0
    assert r.headroom(1000, 2026113023, 2026113023, 400) == 600
    assert r.window_end(r.TRIP_SPEND_HOUR, MONDAY_NIGHT, 10) == datetime(
        2026, 12, 1, 0, 0, tzinfo=TZ)
    assert r.window_end(r.TRIP_SPEND_DAY, MONDAY_NOON, 10) == datetime(
        2026, 12, 1, 0, 0, tzinfo=TZ)
    assert r.window_end(r.TRIP_ATTEMPTS, MONDAY_NOON, 10) == datetime(
        2026, 11, 30, 12, 10, tzinfo=TZ)
    assert r.trip_window(r.TRIP_SPEND_HOUR, MONDAY_NIGHT, 10) == 2026113023


def test_parse_limits_validates_and_names_the_field():
    parsed = r.parse_limits({"spend_hour": "2.5", "blocked_prefixes": "900, 00881 900",
                             "office_hours": OFFICE, "action": "refuse"}, partial=False)
    assert parsed["spend_hour"] == Decimal("2.5")
    assert parsed["blocked_prefixes"] == ("900", "00881")
    assert parsed["calls_per_hour"] == 0 and parsed["action"] == "refuse"
    assert r.as_stored(parsed)["spend_hour"] == "2.5000"
    assert r.parse_limits({"spend_day": ""}, partial=True) == {"spend_day": None}
    for data, field in (({"spend_hour": "1E2"}, "spend_hour"),
                        ({"spend_hour": "-1"}, "spend_hour"),
                        ({"calls_per_hour": "ten"}, "calls_per_hour"),
                        ({"concurrent_calls": -1}, "concurrent_calls"),
                        ({"blocked_prefixes": ["9a"]}, "blocked_prefixes"),
                        ({"allow_mode": "maybe"}, "allow_mode"),
                        ({"office_hours": {"days": [9]}}, "office_hours"),
                        ({"trip_minutes": 0}, "trip_minutes"),
                        ({"action": "explode"}, "action"),
                        ({"nonsense": 1}, "nonsense")):
        with pytest.raises(BillingError) as exc:
            r.parse_limits(data, partial=True)
        assert exc.value.field == field and exc.value.status == 400, data
        assert field.split("_")[0] in str(exc.value.message).lower() or field == "nonsense"
