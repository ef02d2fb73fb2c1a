"""This device's identity: hashed machine id when readable, else a random id kept once."""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

MACHINE_ID_PATHS = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
SALT = b"coovox-ari licensing device identity v1\0"


def format_id(digest: bytes) -> str:
    """``CVX-XXXX-XXXX-XXXX-XXXX`` from 10 bytes of a digest (upper-case hex groups)."""
    text = digest[:10].hex().upper()
    return "CVX-" + "-".join(text[i:i + 5] for i in range(0, 20, 5))


def from_machine_id(machine_id: str) -> str:
    """The identity derived from a machine id (salted so the raw id is not revealed)."""
    return format_id(hashlib.sha256(SALT + machine_id.strip().encode()).digest())


def random_id() -> str:
    return format_id(secrets.token_bytes(10))


def read_machine_id(paths: tuple[Path, ...] = MACHINE_ID_PATHS) -> str | None:
    """The first non-empty machine id among ``paths``, or None."""
    for path in paths:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) >= 16 and all(c in "0123456789abcdefABCDEF-" for c in text):
            return text
        if text:
            log.warning("machine id in %s looks wrong; ignored", path)
    return None


def is_device_id(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 27 or not value.startswith("CVX-"):
        return False
    return all(len(g) == 5 and all(c in "0123456789ABCDEF" for c in g)
               for g in value[4:].split("-"))
