"""Retrying a unit of database work when the connection fails (reset, unreachable)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.exceptions import IntegrityError, OperationalError

T = TypeVar("T")
# what a reset or unreachable database raises (IntegrityError, an OperationalError, is not one)
DB_ERRORS = (ConnectionError, OSError, OperationalError)


async def retry(what: str, fn: Callable[[], Awaitable[T]], *, tries: int,
                delay: Callable[[int], float], log: logging.Logger) -> T:
    """``await fn()``; on a database error, log ``what`` and try again after
    ``delay(attempt)`` seconds, ``tries`` times in all.  Constraint errors are not retried."""
    for attempt in range(tries):
        try:
            return await fn()
        except IntegrityError:
            raise
        except DB_ERRORS as exc:
            if attempt == tries - 1:
                raise
            log.warning("%s failed (%s), retrying", what, exc)
            await asyncio.sleep(delay(attempt))
    raise AssertionError("unreachable")
