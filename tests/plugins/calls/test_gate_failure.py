"""A gate plugin that fails refuses the call: it never fails open (an unbilled call)."""

import types

import pytest

from coovox.hookspecs import hookimpl
from tests.support.call_app import finished


def _broken_gate():
    mod = types.ModuleType("broken")
    mod.PLUGIN_NAME = "broken"

    @hookimpl
    def coovox_call_gate(call):
        raise ConnectionError("database went away")

    mod.coovox_call_gate = coovox_call_gate
    return mod


@pytest.fixture
def plugins():
    return [_broken_gate()]


async def test_a_failing_gate_refuses_the_call(app, double):
    await double.place_call("100", "9123450")
    (row,) = await finished()
    assert (row.status, row.reason) == ("refused", "broken error")
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]
