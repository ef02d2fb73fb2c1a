"""Fixtures of the licensing tests: a vendor key pair, a settable clock, a service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coovox.config import load_config
from coovox.plugins.licensing import signing
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore

DAY0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: datetime = DAY0
    start: datetime = field(default=DAY0)

    def __call__(self) -> datetime:
        return self.now

    def day(self, n: float) -> None:
        self.now = self.start + timedelta(days=n)


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


def issue(key: Ed25519PrivateKey, device_id: str, *, feature: str = "billing",
          expires: str = "never", product: str = signing.PRODUCT,
          issued_at: datetime = DAY0) -> bytes:
    """A licence file as the vendor tool makes it."""
    return signing.sign(key, {"product": product, "feature": feature, "device_id": device_id,
                              "issued_at": issued_at.isoformat(), "expires": expires})


@pytest.fixture
def config(tmp_path, public_key):
    """The core ``config`` fixture, trusting this test's vendor key."""
    return load_config(environ={}, data_dir=str(tmp_path / "data"), secret_key="test-secret",
                       licence_public_keys=[public_key])
