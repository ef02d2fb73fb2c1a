"""Reliability: tests marked ``heavy`` run only with ``COOVOX_HEAVY=1`` (the shared fixtures,
``control``, ``meter``, ``double``, come from tests/support via tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.reliability import heavy


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``heavy`` run only with ``COOVOX_HEAVY=1``."""
    if heavy():
        return
    skip = pytest.mark.skip(reason="heavy variant: set COOVOX_HEAVY=1")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
