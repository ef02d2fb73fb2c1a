"""Fixtures of the web tests: the migrated database copied per test, fast password hashing
(tests/support/web_db.py; the sign-in helpers are in tests/support/web.py)."""

from __future__ import annotations

import pytest

from tests.support.web_db import cheap_password_hash, config_on_copy


@pytest.fixture
def config(tmp_path, migrated_db):
    """The shared ``config`` fixture, starting from a copy of the migrated database (fast)."""
    return config_on_copy(migrated_db, tmp_path)


@pytest.fixture(autouse=True)
def fast_password_hash(monkeypatch):
    """Cheap argon2 parameters in web tests (the real ones cost ~0.5 s a hash here)."""
    cheap_password_hash(monkeypatch)
