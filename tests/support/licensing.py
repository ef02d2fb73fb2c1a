"""Licensing test helpers: a settable clock and licence files as the vendor tool makes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coovox.plugins.licensing import signing

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


def issue(key: Ed25519PrivateKey, device_id: str, *, feature: str = "billing",
          expires: str = "never", product: str = signing.PRODUCT,
          issued_at: datetime = DAY0) -> bytes:
    """A licence file as the vendor tool makes it."""
    return signing.sign(key, {"product": product, "feature": feature, "device_id": device_id,
                              "issued_at": issued_at.isoformat(), "expires": expires})
