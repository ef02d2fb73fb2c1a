"""Errors of the ARI double."""

from __future__ import annotations


class SimError(Exception):
    """An ARI error response: ``status`` and ``message`` (body ``{"message": ...}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AppNotRegistered(SimError):
    """The Stasis app does not exist: a phone call cannot reach it."""
