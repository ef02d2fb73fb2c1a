"""Filters that must be prepared before their query runs (e.g. the call log's keyword,
which asks its index for a plan), collected while a queryset is built, so the code that
runs the query can prepare them without reading the queryset's private filter list."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_collecting: ContextVar[list[Any] | None] = ContextVar("coovox_prepared", default=None)


def needs_preparing(q: Any) -> None:
    """Called by such a filter when it is made: kept by the innermost :func:`collecting`."""
    found = _collecting.get()
    if found is not None:
        found.append(q)


@contextlib.contextmanager
def collecting() -> Iterator[list[Any]]:
    """The filters made inside the block that need preparing (``await q.prepare()``)."""
    found: list[Any] = []
    token = _collecting.set(found)
    try:
        yield found
    finally:
        _collecting.reset(token)


async def prepare(found: list[Any]) -> None:
    for q in found:
        await q.prepare()
