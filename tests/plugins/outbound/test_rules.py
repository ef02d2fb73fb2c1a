"""Pure rules of the call path: causes (soft hangups are not Q.850); the gates' are in
tests/plugins/calls/test_gates.py."""

import pytest

from coovox.plugins.calls import causes


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
