"""Pure rules of the call path: gate decisions, causes (soft hangups are not Q.850)."""

import pytest

from coovox.hooktypes import GateDecision
from coovox.plugins.calls import causes
from coovox.plugins.calls.services import combine_gate, decisions_from_json, decisions_to_json

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


@pytest.mark.parametrize(("event", "cause"), [
    ({"type": "ChannelHangupRequest", "cause": 32, "soft": True}, None),  # ARI DELETE
    ({"type": "ChannelHangupRequest", "cause": 16, "soft": True}, None),  # APPUNLOAD
    ({"type": "ChannelHangupRequest", "cause": 16}, 16),
    ({"type": "ChannelHangupRequest", "cause": 17}, 17),
    ({"type": "ChannelDestroyed", "cause": 19, "cause_txt": "User alerting, no answer"}, 19),
    ({"type": "ChannelDestroyed", "cause": 34}, 34),
    ({"type": "StasisEnd"}, None),
    ({"type": "ChannelDestroyed", "cause": "16"}, None),
])
def test_q850_cause(event, cause):
    assert causes.q850_cause(event) == cause


@pytest.mark.parametrize(("cause", "expected"), [
    (17, ("busy", False)), (19, ("no answer", False)), (34, ("failed", True)),
    (1, ("failed", True)), (21, ("failed", True)), (16, ("no answer", False)),
])
def test_outcome_of_cause(cause, expected):
    assert causes.outcome_of_cause(cause) == expected
