"""Outbound caller ID and call method rules (manual 003 §4.1.2, §4.2, §4.3.2): pure
functions, no I/O."""

from __future__ import annotations

import pytest

from coovox.plugins.outbound import rules as r
from coovox.plugins.outbound.routing import (
    ROUND_ROBIN,
    SEQUENTIAL,
    ExtensionSpec,
    RuleSpec,
    TrunkSpec,
    caller_id,
    extension_caller_id,
    trunk_order,
)

BOTH = ExtensionSpec("100", "Alice", caller_id1="67293500", caller_id2="+8610555")
NONE = ExtensionSpec("101", "Bob")
PLAIN = TrunkSpec("carrier", "PJSIP/{number}@carrier")
OWN = TrunkSpec("ims", "PJSIP/{number}@ims", caller_id="02112345678")
OWN_FIRST = TrunkSpec("ims", "PJSIP/{number}@ims", caller_id="02112345678", prefer="trunk")


def rule(choice: int = 1, method: str = SEQUENTIAL) -> RuleSpec:
    return RuleSpec("Out", "X.", trunks=("a", "b", "c"), caller_id=choice, call_method=method)


def test_the_rule_chooses_the_extensions_first_or_second_caller_id():
    assert caller_id(BOTH, rule(), PLAIN) == "67293500"  # the default: the first
    assert caller_id(BOTH, rule(2), PLAIN) == "+8610555"


def test_an_empty_choice_falls_back_to_the_other_caller_id():
    assert extension_caller_id(ExtensionSpec("1", caller_id1="555"), 2) == "555"
    assert extension_caller_id(ExtensionSpec("1", caller_id2="666"), 1) == "666"
    assert extension_caller_id(NONE, 1) == ""


def test_the_trunk_preference_decides_between_trunk_and_extension():
    assert caller_id(BOTH, rule(), OWN) == "67293500"  # the extension's first (default)
    assert caller_id(NONE, rule(), OWN) == "02112345678"  # the extension has none
    assert caller_id(BOTH, rule(2), OWN_FIRST) == "02112345678"
    no_own = TrunkSpec("ims", "PJSIP/{number}@ims", prefer="trunk")
    assert caller_id(BOTH, rule(2), no_own) == "+8610555"  # the trunk has none


def test_without_any_caller_id_the_paying_extension_is_shown():
    assert caller_id(NONE, rule(2), PLAIN) == "101"
    assert caller_id(NONE, rule(), TrunkSpec("t", "X/{number}", prefer="trunk")) == "101"


def test_sequential_keeps_the_order_and_round_robin_turns():
    trunks = (TrunkSpec("a", "X/{number}"), TrunkSpec("b", "X/{number}"),
              TrunkSpec("c", "X/{number}"))

    def names(method, turn):
        return [t.name for t in trunk_order(trunks, method, turn)]

    assert names(SEQUENTIAL, 5) == ["a", "b", "c"]
    assert [names(ROUND_ROBIN, turn) for turn in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert trunk_order((), ROUND_ROBIN, 3) == ()


@pytest.mark.parametrize("value", ["67293500", "+8610555", "110", "1" * 20, "", None])
def test_caller_ids_accepted(value):
    assert r.clean_caller_id(value, "caller_id1") == (value or "")


@pytest.mark.parametrize("value", ["12", "1" * 21, "++86100", "861-0555", "86 10", "abc",
                                   "１２３４", "+", True, ["1"]])
def test_caller_ids_refused_naming_the_field(value):
    with pytest.raises(r.Invalid) as exc:
        r.clean_caller_id(value, "caller_id2")
    assert exc.value.field == "caller_id2"


def test_choices_of_rules_and_trunks():
    assert r.clean_caller_id_choice("2") == 2 and r.clean_caller_id_choice(None) == 1
    assert r.clean_choice("", "call_method", r.CALL_METHODS) == "sequential"
    assert r.clean_choice("round_robin", "call_method", r.CALL_METHODS) == "round_robin"
    for bad, clean in ((3, r.clean_caller_id_choice), ("x", r.clean_caller_id_choice),
                       (True, r.clean_caller_id_choice)):
        with pytest.raises(r.Invalid):
            clean(bad)
    with pytest.raises(r.Invalid) as exc:
        r.clean_choice("random", "prefer", r.PREFERENCES)
    assert str(exc.value) == "must be one of: extension, trunk" and exc.value.field == "prefer"
