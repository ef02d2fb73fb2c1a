"""Errors raised by the ARI REST layer."""

from __future__ import annotations


class AriError(Exception):
    """An ARI request failed: ``status`` is the HTTP status (0 = no response, e.g. timeout)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"ARI error {status}: {message}" if status else f"ARI error: {message}")
        self.status = status
        self.message = message


class AriNotFound(AriError):
    """404: the channel, bridge or playback does not exist (any more) - a normal case."""
