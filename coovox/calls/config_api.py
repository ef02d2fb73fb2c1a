"""JSON API of the outbound configuration: extensions, trunks, dial rules, permissions, PIN sets."""

from __future__ import annotations

from coovox.hooktypes import Route


def routes() -> list[Route]:
    return []
