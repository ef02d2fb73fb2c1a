"""Rating is pure: which rate applies and what a call costs (guides' examples + properties)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coovox.plugins.billing.rating import (
    RateRule,
    block,
    charge_at,
    choose_rate,
    cost,
    in_window,
    live_charges,
    specificity,
)

GUIDE = RateRule(id=1, prefix="9", length=9, initial_cost=Decimal("0.1"), initial_time=60,
                 rate=Decimal("0.02"), unit=55)


@pytest.mark.parametrize("seconds, expected", [
    (0, "0.0000"), (0.001, "0.1000"), (39, "0.1000"), (60, "0.1000"), (60.001, "0.1200"),
    (61, "0.1200"), (115, "0.1200"), (115.001, "0.1400"), (116, "0.1400"), (170, "0.1400"),
    (171, "0.1600"),
])
def test_cost_of_the_guides_example(seconds, expected):
    assert str(cost(GUIDE, seconds)) == expected


def test_a_call_ending_exactly_at_a_boundary_is_not_charged_that_boundary():
    # boundary k is at initial_time + k*unit; a call of exactly that length stops there
    at_boundary = live_charges(GUIDE, 115)
    assert sum(c.amount for c in at_boundary) == cost(GUIDE, 115) == Decimal("0.12")
    assert [c.at for c in at_boundary] == [0.0, 60.0]


def test_initial_time_zero_charges_the_rate_at_answer():
    rule = RateRule(id=1, rate=Decimal("0.05"), unit=60)
    assert [c.at for c in live_charges(rule, 1)] == [0.0, 0.0]
    assert cost(rule, 1) == Decimal("0.05") and cost(rule, 60) == Decimal("0.05")
    assert cost(rule, 60.5) == Decimal("0.10")


@pytest.mark.parametrize("start, end, at, inside", [
    ("22:00", "06:00", "23:30", True), ("22:00", "06:00", "05:59:59", True),
    ("22:00", "06:00", "06:00", False), ("22:00", "06:00", "12:00", False),
    ("08:00", "18:00", "08:00", True), ("08:00", "18:00", "18:00", False),
    ("00:00", "00:00", "13:13", True), ("09:00", "09:00", "08:59", True),
])
def test_time_windows_wrap_midnight_and_equal_ends_mean_all_day(start, end, at, inside):
    assert in_window(time.fromisoformat(start), time.fromisoformat(end),
                     time.fromisoformat(at)) is inside


def test_most_specific_rate_wins():
    rules = [
        RateRule(id=1, prefix="", rate=Decimal(1)),
        RateRule(id=2, prefix="9", rate=Decimal(2)),
        RateRule(id=3, prefix="9", length=9, rate=Decimal(3)),
        RateRule(id=4, prefix="9", length=9, start=time(8), end=time(18), rate=Decimal(4)),
        RateRule(id=5, prefix="9", length=9, start=time(8), end=time(18), rate=Decimal(5)),
        RateRule(id=6, prefix="90", length=12, rate=Decimal(6)),
        RateRule(id=7, prefix="95", rate=Decimal(7), extensions=frozenset({"101"})),
        RateRule(id=8, prefix="951", rate=Decimal(8), active=False),
    ]
    noon, night = time(12), time(23)
    assert choose_rate(rules, "912345678", "100", noon).id == 4   # narrower window, lower id
    assert choose_rate(rules, "912345678", "100", night).id == 3  # fixed length beats any
    assert choose_rate(rules, "91234", "100", noon).id == 2        # length 9 does not match
    assert choose_rate(rules, "90123456789", "100", noon).id == 2  # 11 digits, not 12
    assert choose_rate(rules, "951234", "101", noon).id == 7       # its extension; 8 inactive
    assert choose_rate(rules, "951234", "100", noon).id == 2       # not for extension 100
    assert choose_rate(rules, "812345", "100", noon).id == 1       # empty prefix: any number
    assert choose_rate(rules[1:], "812345", "100", noon) is None


rules_st = st.builds(
    RateRule,
    id=st.integers(1, 10_000),
    initial_cost=st.decimals(0, 5, places=4),
    initial_time=st.integers(0, 300),
    rate=st.decimals(0, 5, places=4),
    unit=st.integers(1, 120),
)
seconds_st = st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 3))


@settings(max_examples=150, deadline=None)
@given(rules_st, seconds_st, seconds_st)
def test_cost_never_decreases_with_time(rule, a, b):
    lo, hi = sorted((a, b))
    assert cost(rule, lo) <= cost(rule, hi)


@settings(max_examples=150, deadline=None)
@given(rules_st, seconds_st)
def test_cost_equals_the_sum_of_live_charges(rule, seconds):
    assert sum((c.amount for c in live_charges(rule, seconds)), Decimal(0)) == cost(rule, seconds)


def charges_due_before(rule, seq, horizon):
    """Charging ahead's block by its definition: charge ``seq``, then each next one that
    falls due before ``horizon``."""
    out = [charge_at(rule, seq)]
    while (nxt := charge_at(rule, seq + len(out))).at < horizon:
        out.append(nxt)
    return out


@settings(max_examples=200, deadline=None)
@given(rules_st, st.integers(0, 200), st.floats(0, 600).map(lambda x: round(x, 3)),
       st.sampled_from([0, 1, 5, 30, 120]))
def test_a_block_holds_exactly_the_charges_due_before_its_horizon(rule, seq, talk, interval):
    due = charge_at(rule, seq)
    horizon = max(talk, due.at) + interval
    assert block(rule, seq, horizon) == charges_due_before(rule, seq, horizon)
    # a horizon on a boundary itself: that boundary is the next block's
    assert block(rule, seq, due.at + rule.unit) == charges_due_before(rule, seq,
                                                                      due.at + rule.unit)


window_st = st.tuples(st.integers(0, 23), st.integers(0, 23)).map(
    lambda t: (time(t[0]), time(t[1])))
ranking_st = st.lists(st.builds(
    lambda i, p, n, w: RateRule(id=i, prefix=p, length=n, start=w[0], end=w[1]),
    st.integers(1, 50), st.sampled_from(["", "9", "90", "901"]), st.sampled_from([0, 9, 12]),
    window_st), min_size=1, max_size=8, unique_by=lambda r: r.id)


@settings(max_examples=200, deadline=None)
@given(ranking_st, st.randoms())
def test_specificity_is_total_and_order_independent(rules, rnd):
    keys = [specificity(r) for r in rules]
    assert len(set(keys)) == len(keys)  # total: ids break every tie
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    at = time(12)
    assert choose_rate(rules, "901234567", "1", at) == choose_rate(shuffled, "901234567", "1", at)
