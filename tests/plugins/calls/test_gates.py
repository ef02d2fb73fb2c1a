"""Gate combination, a pure rule (no I/O): any refusal wins (the first asked is recorded),
the smallest time cap wins (the rule's limit is core's), the smallest money cap wins; the
decisions survive their JSON form (a restart resumes calls from it)."""

from decimal import Decimal

import pytest

from coovox.hooktypes import GateDecision
from coovox.plugins.calls.gates import (
    CORE,
    combine_gate,
    decisions_from_json,
    decisions_to_json,
    money_cap_of,
)

A, B, C = "a", "b", "c"


@pytest.mark.parametrize(("decisions", "limit", "expected"), [
    ({}, None, (None, None, "")),
    ({}, 600, (None, 600.0, "core")),
    ({A: GateDecision(A, cap=30)}, 600, (None, 30.0, A)),
    ({A: GateDecision(A, cap=900)}, 600, (None, 600.0, "core")),
    ({A: GateDecision(A, cap=30), B: GateDecision(B, cap=20)}, None, (None, 20.0, B)),
    ({A: GateDecision(A, cap=30), B: GateDecision(B, refuse="locked")}, 60,
     ("locked", None, "")),
    ({A: GateDecision(A, refuse="insufficient funds"), B: GateDecision(B, refuse="locked")},
     None, ("insufficient funds", None, "")),
    ({A: GateDecision(A), C: GateDecision(C, cap=0)}, 60, (None, 0.0, C)),
])
def test_combine_gate(decisions, limit, expected):
    assert combine_gate(decisions, limit) == expected


def test_decisions_round_trip_for_resume():
    decisions = {A: GateDecision(A, cap=12.5, data={"rate": "0.1000"}), B: GateDecision(B)}
    back, cap, by = decisions_from_json(decisions_to_json(decisions, 12.5, A))
    assert back == decisions and (cap, by) == (12.5, A)
    assert decisions_from_json(None) == ({}, None, "")


def test_the_rules_limit_is_a_cap_set_by_core():
    assert combine_gate({A: GateDecision(A, cap=600)}, 600) == (None, 600.0, CORE)


@pytest.mark.parametrize(("caps", "expected"), [
    ((), None),
    ((None, None), None),
    (("5.00", None, "0.30"), Decimal("0.30")),
    (("0",), Decimal("0")),
])
def test_the_smallest_money_cap_wins(caps, expected):
    decisions = {f"p{i}": GateDecision(f"p{i}", money_cap=None if c is None else Decimal(c))
                 for i, c in enumerate(caps)}
    assert money_cap_of(decisions) == expected


def test_a_money_cap_round_trips_exactly_and_old_records_read_the_same():
    decisions = {A: GateDecision(A, money_cap=Decimal("0.3000")), B: GateDecision(B, cap=5)}
    data = decisions_to_json(decisions, 5.0, B)
    assert data["plugins"][A]["money_cap"] == "0.3000"  # text: no float rounding
    assert "money_cap" not in data["plugins"][B]  # as records written before money caps
    assert decisions_from_json(data) == (decisions, 5.0, B)


def test_a_broken_stored_decision_is_skipped_not_fatal():
    data = {"plugins": {A: {"plugin": A, "cap": 3}, B: {"plugin": B, "bogus": 1},
                        C: {"plugin": C, "money_cap": "not money"}}, "cap": 3, "cap_by": A}
    assert decisions_from_json(data) == ({A: GateDecision(A, cap=3)}, 3, A)
    assert decisions_from_json(["not", "a", "dict"]) == ({}, None, "")
