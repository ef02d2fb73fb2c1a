"""Fixtures of the licensing tests: a vendor key pair, a settable clock, a service."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coovox.config import load_config
from coovox.plugins.licensing import signing
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore
from tests.support.licensing import Clock


@pytest.fixture
def vendor_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def public_key(vendor_key) -> str:
    return signing.public_key_b64(vendor_key)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def machine_id(tmp_path):
    path = tmp_path / "machine-id"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    return path


@pytest.fixture
def store(tmp_path, machine_id) -> LicenceStore:
    return LicenceStore(tmp_path / "licence", machine_id_paths=(machine_id,))


@pytest.fixture
def service(store, clock, public_key) -> Licensing:
    service = Licensing(store, clock, [public_key])
    service.start()
    return service


@pytest.fixture
def config(tmp_path, public_key):
    """The core ``config`` fixture, trusting this test's vendor key."""
    return load_config(environ={}, data_dir=str(tmp_path / "data"), secret_key="test-secret",
                       licence_public_keys=[public_key])
