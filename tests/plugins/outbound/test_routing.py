"""Pure routing: permission -> ordered rules -> first match -> number sent, trunks."""

from datetime import UTC, datetime, time

import pytest

from coovox.plugins.outbound.routing import (
    Condition,
    ExtensionSpec,
    Refusal,
    Route,
    RuleSpec,
    TrunkSpec,
    route,
)

TRUNKS = {
    "fxo": TrunkSpec("fxo", "DAHDI/g0/{number}"),
    "voip": TrunkSpec("voip", "PJSIP/{number}@carrier"),
    "voip2": TrunkSpec("voip2", "PJSIP/{number}@backup"),
    "off": TrunkSpec("off", "PJSIP/{number}@off", enabled=False),
    "test": TrunkSpec("test", "Local/{number}@pstn"),
}
OFFICE = Condition(days=(0, 1, 2, 3, 4), start=time(8), end=time(18))
NIGHT = Condition(days=(4,), start=time(22), end=time(6))
RULES = {
    # the manual §4.3.2: prefix 9 stripped, 9123456 -> 123456
    "Local": RuleSpec("Local", "XX.", prefix="9", trunks=("fxo",)),
    # the manual's DialOut rule: no prefix, pattern XX., trunk test
    "DialOut": RuleSpec("DialOut", "XX.", trunks=("test",)),
    # "only one rule: no prefix, pattern '.'"
    "Any": RuleSpec("Any", ".", trunks=("test",)),
    "Intl": RuleSpec("Intl", "X.", prefix="00", prepend="+", trunks=("voip", "voip2"),
                     time_limit=600, pin_set="staff"),
    "Office": RuleSpec("Office", "NXXXXXX", prefix="8", trunks=("voip",), condition=OFFICE),
    "Night": RuleSpec("Night", "X.", prefix="7", trunks=("voip",), condition=NIGHT),
    "Dead": RuleSpec("Dead", "X.", prefix="6", trunks=("off",)),
    "DeadFallback": RuleSpec("DeadFallback", "X.", prefix="6", trunks=("voip2",)),
    "Mobile": RuleSpec("Mobile", "1[3-9]XXXXXXXXX", prefix="0", prepend="86", trunks=("voip",)),
}
PERMS = {
    "DialPlan1": ["Local", "Intl", "Office", "Night", "Dead", "DeadFallback", "Mobile"],
    "LocalOnly": ["Local"],
    "Manual": ["DialOut"],
    "OneRule": ["Any"],
    "Ghost": ["Missing", "Local"],
}
EXT = {
    "100": ExtensionSpec("100", "Alice"),
    "101": ExtensionSpec("101", "Bob", dial_permission="LocalOnly"),
    "102": ExtensionSpec("102", "Carol", enabled=False),
    "103": ExtensionSpec("103", "Dan", dial_permission="Manual"),
    "104": ExtensionSpec("104", "Eve", dial_permission="OneRule"),
    "105": ExtensionSpec("105", "Finn", dial_permission="Ghost"),
    "106": ExtensionSpec("106", "Gus", dial_permission="NoSuchPermission"),
}
WED_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday
SAT_10 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
FRI_23 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
SAT_03 = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # Friday night's window, after midnight
SUN_03 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)

CASES = [
    # ext, dialled, now, timezone, expected (rule, sent, trunks) or refusal reason
    ("100", "9123456", WED_10, "UTC", ("Local", "123456", ("fxo",))),
    ("103", "123456", WED_10, "UTC", ("DialOut", "123456", ("test",))),
    ("103", "12", WED_10, "UTC", "no route"),  # XX. needs 3+ digits
    ("104", "5", WED_10, "UTC", ("Any", "5", ("test",))),
    ("100", "00441234", WED_10, "UTC", ("Intl", "+441234", ("voip", "voip2"))),
    ("100", "82345678", WED_10, "UTC", ("Office", "2345678", ("voip",))),
    ("100", "82345678", SAT_10, "UTC", "no route"),  # outside the office window
    # Asia/Shanghai: Wednesday 10:00 UTC is 18:00 local, still inside (inclusive)
    ("100", "82345678", WED_10, "Asia/Shanghai", ("Office", "2345678", ("voip",))),
    # 02:00 UTC on Wednesday is 10:00 in Shanghai: inside; in UTC: outside
    ("100", "82345678", datetime(2026, 11, 18, 2, 0, tzinfo=UTC), "Asia/Shanghai",
     ("Office", "2345678", ("voip",))),
    ("100", "82345678", datetime(2026, 11, 18, 2, 0, tzinfo=UTC), "UTC", "no route"),
    ("100", "7123", FRI_23, "UTC", ("Night", "123", ("voip",))),
    ("100", "7123", SAT_03, "UTC", ("Night", "123", ("voip",))),
    ("100", "7123", SUN_03, "UTC", "no route"),
    ("100", "7123", WED_10, "UTC", "no route"),
    ("100", "6123", WED_10, "UTC", ("DeadFallback", "123", ("voip2",))),  # disabled trunk skipped
    ("100", "013912345678", WED_10, "UTC", ("Mobile", "8613912345678", ("voip",))),
    ("100", "012912345678", WED_10, "UTC", "no route"),
    ("101", "00441234", WED_10, "UTC", "no route"),  # permission lacks Intl
    ("101", "9123456", WED_10, "UTC", ("Local", "123456", ("fxo",))),
    ("102", "9123456", WED_10, "UTC", "extension disabled"),
    ("999", "9123456", WED_10, "UTC", "unknown extension"),
    ("105", "9123456", WED_10, "UTC", ("Local", "123456", ("fxo",))),  # missing rule skipped
    ("106", "9123456", WED_10, "UTC", "no route"),
    ("100", "9", WED_10, "UTC", "no route"),  # prefix alone
]


@pytest.mark.parametrize(("ext", "dialed", "now", "tz", "expected"), CASES)
def test_route(ext, dialed, now, tz, expected):
    result = route(EXT.get(ext), dialed, permissions=PERMS, rules=RULES, trunks=TRUNKS,
                   now=now, timezone=tz)
    if isinstance(expected, str):
        assert isinstance(result, Refusal)
        assert result.reason == expected
    else:
        assert isinstance(result, Route)
        rule, sent, trunks = expected
        assert (result.rule.name, result.sent, tuple(t.name for t in result.trunks)) == (
            rule, sent, trunks)


def test_route_carries_time_limit_and_pin_set():
    result = route(EXT["100"], "0012", permissions=PERMS, rules=RULES, trunks=TRUNKS,
                   now=WED_10)
    assert result.time_limit == 600 and result.pin_set == "staff"


@pytest.mark.parametrize(("dial_string", "number", "endpoint"), [
    ("PJSIP/{number}@carrier", "123", "PJSIP/123@carrier"),
    ("Local/{number}@pstn", "+44", "Local/+44@pstn"),
    ("DAHDI/g0", "123", "DAHDI/g0/123"),
])
def test_trunk_endpoint(dial_string, number, endpoint):
    assert TrunkSpec("t", dial_string).endpoint(number) == endpoint


def test_condition_from_json():
    cond = Condition.from_json({"days": [0], "start": "08:00", "end": "18:00"})
    assert cond.holds(datetime(2026, 11, 16, 12, 0)) and not cond.holds(datetime(2026, 11, 17, 12))
    assert Condition.from_json(None) is None
