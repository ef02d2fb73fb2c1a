"""Gate combination (pure, no I/O): every plugin's ``GateDecision`` for a call becomes one
refusal or one cap; decisions are kept with the call record as JSON (restart resumes them).

Any refusal wins (the first asked is recorded); the smallest time cap wins, the rule's time
limit being a cap set by ``core``; the smallest money cap wins.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from coovox.hooktypes import GateDecision

CORE = "core"  # who set a cap that is the dial rule's own time limit


def combine_gate(decisions: dict[str, GateDecision], time_limit: float | None
                 ) -> tuple[str | None, float | None, str]:
    """(refusal reason, cap, who set the cap): any refusal wins, the smallest cap wins.

    ``decisions`` is in the order plugins were asked; the first refusal is recorded.
    The rule's time limit is a cap set by ``core``.
    """
    for decision in decisions.values():
        if decision.refuse:
            return decision.refuse, None, ""
    cap: float | None = float(time_limit) if time_limit else None
    by = CORE if cap is not None else ""
    for name, decision in decisions.items():
        if decision.cap is not None and (cap is None or decision.cap < cap):
            cap, by = float(decision.cap), name
    return None, cap, by


def money_cap_of(decisions: dict[str, GateDecision]) -> Decimal | None:
    """The smallest money cap of the gates' decisions (None: no plugin set one)."""
    caps = [d.money_cap for d in decisions.values() if d.money_cap is not None]
    return min(caps) if caps else None


def _decision_json(d: GateDecision) -> dict[str, Any]:
    out = asdict(d)
    if d.money_cap is None:
        del out["money_cap"]  # records written before money caps look the same
    else:
        out["money_cap"] = str(d.money_cap)
    return out


def decisions_to_json(decisions: dict[str, GateDecision], cap: float | None, by: str) -> dict:
    return {"plugins": {name: _decision_json(d) for name, d in decisions.items()},
            "cap": cap, "cap_by": by}


def decisions_from_json(data: Any) -> tuple[dict[str, GateDecision], float | None, str]:
    if not isinstance(data, dict):
        return {}, None, ""
    plugins = {}
    for name, d in (data.get("plugins") or {}).items():
        try:
            if d.get("money_cap") is not None:
                d = {**d, "money_cap": Decimal(d["money_cap"])}
            plugins[name] = GateDecision(**d)
        except (TypeError, ArithmeticError):
            continue
    return plugins, data.get("cap"), data.get("cap_by") or ""
