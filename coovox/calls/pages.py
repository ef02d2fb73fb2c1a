"""Administrator pages of the outbound configuration, call log and live calls."""

from __future__ import annotations

from coovox.hooktypes import MenuItem, Route


def routes() -> list[Route]:
    return []


def menu_items() -> list[MenuItem]:
    return []
