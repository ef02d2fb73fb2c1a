"""The settlement's arithmetic (:func:`ledger.affordable_cost`), a pure function: no I/O."""

from __future__ import annotations

import json
from decimal import Decimal as D

from coovox.plugins.billing.ledger import affordable_cost
from coovox.storage.money import to_units

# guide v3.2.0's example: 0.1 for the first 60 s, then 0.02 per 55 s
RATE = {"id": 1, "initial_cost": "0.1", "initial_time": 60, "rate": "0.02", "unit": 55}


def test_a_settlement_the_money_cannot_pay_bills_until_the_first_unpaid_boundary():
    # 116 s cost 0.14; 0.1 was charged and 0.02 is left: the boundary at 115 s is unpaid
    assert affordable_cost(RATE, to_units(D("0.14")), to_units(D("0.1")),
                           to_units(D("0.02")), 116.0) == (to_units(D("0.12")), 115)


def test_the_rate_copy_may_be_json_text_as_read_by_raw_sql():
    assert affordable_cost(json.dumps(RATE), to_units(D("0.14")), to_units(D("0.1")), 0,
                           116.0) == (to_units(D("0.1")), 60)


def test_without_a_rate_the_cost_is_only_capped_by_the_money():
    assert affordable_cost(None, 500, 100, 200, 10.0) == (300, 10.0)
    assert affordable_cost(None, 500, 100, -50, 10.0) == (100, 10.0)
