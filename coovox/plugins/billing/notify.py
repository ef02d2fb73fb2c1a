"""Billing's events (``coovox.api.CORE_EVENTS``): published after a change is committed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PLUGIN = "billing"


def balances_moved(coovox: Any, rows: Iterable[dict[str, Any]]) -> None:
    """``balance.recharged`` / ``balance.corrected`` for each recharge-history row."""
    for r in rows:
        if r["correction"]:
            coovox.publish("balance.corrected", PLUGIN, extension=r["extension"],
                           amount=r["amount"], balance=r["post_balance"], by=r["by"],
                           reason=r["reason"])
        else:
            coovox.publish("balance.recharged", PLUGIN, extension=r["extension"],
                           amount=r["amount"], balance=r["post_balance"], by=r["by"])


def settings_saved(coovox: Any, keys: Iterable[str], by: str) -> None:
    """``settings.changed`` for the billing settings ``keys``."""
    coovox.publish("settings.changed", PLUGIN, namespace=PLUGIN, keys=sorted(keys), by=by)
