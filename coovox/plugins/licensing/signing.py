"""Licence files: canonical JSON payloads signed with Ed25519 (no I/O, no HTTP types).

A licence file is ``{"payload": {...}, "signature": "<base64>"}`` where the signature is
over :func:`canonical` of the payload.  :func:`read_licence` checks the shape and the
signature and raises :class:`LicenceError` naming the check that failed.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PRODUCT = "coovox-ari"
MAX_LICENCE_BYTES = 64 * 1024

# The checks an upload can fail, in the order they are made.
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
OTHER_PRODUCT = "other_product"
OTHER_FEATURE = "other_feature"
OTHER_DEVICE = "other_device"
EXPIRED = "expired"
NO_TRUSTED_KEY = "no_trusted_key"


class LicenceError(ValueError):
    """A licence was refused; ``check`` names the failed check (see the constants)."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def sign(private_key: Ed25519PrivateKey, payload: dict[str, Any]) -> bytes:
    """A licence file (JSON bytes) for ``payload``."""
    signature = base64.b64encode(private_key.sign(canonical(payload))).decode()
    return (json.dumps({"payload": payload, "signature": signature}, indent=2,
                       sort_keys=True) + "\n").encode()


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64 (the form ``licence_public_keys`` takes)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 of its 32 raw bytes; ValueError when it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError(f"must be 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; ValueError when the data is not one."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def parse_expires(value: Any) -> datetime | None:
    """``"never"`` -> None; ``"YYYY-MM-DD"`` -> the end of that day (UTC)."""
    if value == "never":
        return None
    if not isinstance(value, str):
        raise ValueError("expires must be 'never' or a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expires must be 'never' or a date YYYY-MM-DD, not {value!r}") from None
    return datetime.combine(day, time(23, 59, 59), UTC)


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time without offset")
    return parsed


def _decode(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Payload and signature bytes of a licence file, or LicenceError(MALFORMED)."""
    if len(data) > MAX_LICENCE_BYTES:
        raise LicenceError(MALFORMED, "malformed licence file: larger than 64 KiB")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LicenceError(MALFORMED, "malformed licence file: not a licence (not valid JSON; "
                                      "was the file truncated?)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict) \
            or not isinstance(doc.get("signature"), str):
        raise LicenceError(MALFORMED, "malformed licence file: it needs a 'payload' object "
                                      "and a 'signature'")
    payload = doc["payload"]
    for name in ("product", "feature", "device_id", "issued_at", "expires"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            raise LicenceError(MALFORMED, f"malformed licence file: payload field {name!r} "
                                          "is missing or not text")
    try:
        parse_time(payload["issued_at"])
        parse_expires(payload["expires"])
    except ValueError as exc:
        raise LicenceError(MALFORMED, f"malformed licence file: {exc}") from None
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise LicenceError(MALFORMED, "malformed licence file: the signature is not "
                                      "base64") from None
    return payload, signature


def verify(data: bytes, public_keys: list[Ed25519PublicKey]) -> dict[str, Any]:
    """The payload of a well-formed licence signed by one of ``public_keys``."""
    payload, signature = _decode(data)
    if not public_keys:
        raise LicenceError(NO_TRUSTED_KEY, "no trusted vendor public key is configured "
                                           "(licence_public_keys)")
    message = canonical(payload)
    for key in public_keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return payload
    raise LicenceError(BAD_SIGNATURE, "bad signature: the licence was not signed by a trusted "
                                      "vendor key, or it was changed after signing")


def check_payload(payload: dict[str, Any], *, feature: str, device_id: str,
                  now: datetime) -> datetime | None:
    """Check a verified payload against this device; returns its expiry (None = never)."""
    if payload["product"] != PRODUCT:
        raise LicenceError(OTHER_PRODUCT, f"the licence is for another product "
                                          f"({payload['product']!r})")
    if payload["feature"] != feature:
        raise LicenceError(OTHER_FEATURE, f"the licence is for another feature "
                                          f"({payload['feature']!r}, not {feature!r})")
    if payload["device_id"] != device_id:
        raise LicenceError(OTHER_DEVICE, f"the licence is for another device "
                                         f"({payload['device_id']}, this one is {device_id})")
    expires = parse_expires(payload["expires"])
    if expires is not None and expires < now:
        raise LicenceError(EXPIRED, f"the licence expired on {payload['expires']}")
    return expires
