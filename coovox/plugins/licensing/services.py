"""Licensing logic: feature state, activation, licence upload, request file (no HTTP types)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from coovox import __version__
from coovox.plugins.licensing import signing, trial
from coovox.plugins.licensing.store import CORRUPT, LicenceStore, StoreError
from coovox.web.i18n import gettext as _

log = logging.getLogger(__name__)

KNOWN_FEATURES = ("billing",)
FEATURE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def valid_feature(name: str) -> bool:
    return isinstance(name, str) and bool(FEATURE_RE.match(name))


def _checked(feature: str) -> str:
    if not valid_feature(feature):
        raise ValueError(f"feature names are lower-case letters, digits, '-' or '_', "
                         f"not {feature!r}")
    return feature


def trusted_keys(texts: Iterable[str]) -> list:
    """Public keys from configuration; a wrong one is logged and skipped."""
    keys = []
    for text in texts:
        try:
            keys.append(signing.load_public_key(text))
        except ValueError as exc:
            log.error("licence_public_keys: %r is not an Ed25519 public key (%s); ignored",
                      text[:16], exc)
    return keys


class Licensing:
    """The licensing service for one store, clock and set of trusted keys."""

    def __init__(self, store: LicenceStore, clock: Callable[[], datetime],
                 public_keys: Iterable[str] = ()):
        self.store = store
        self.clock = clock
        self.keys = trusted_keys(public_keys)
        # (feature, device) -> (licence bytes, valid, expiry): verify each file once
        self._licence_cache: dict[tuple[str, str], tuple[bytes, bool, datetime | None]] = {}
        self._warned_last_seen: datetime | None = None  # log a set-back clock once
        self.on_change: Callable[[str], None] = lambda feature: None  # licence.changed

    # --- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """``max(clock, last seen)``; writes last-seen at most once a minute."""
        now = self.clock()
        snap = self.store.snapshot()
        last_seen = snap.last_seen
        effective = trial.effective_now(now, last_seen)
        if trial.clock_set_back(now, last_seen) and self._warned_last_seen != last_seen:
            self._warned_last_seen = last_seen
            log.warning("the clock (%s) is earlier than the last time seen (%s): using the "
                        "latter for licensing", now.isoformat(), effective.isoformat())
        if snap.last_seen_damaged or trial.last_seen_due(now, last_seen):
            try:
                self.store.touch_last_seen(effective)
            except StoreError as exc:
                log.error("%s", exc)
        return effective

    def start(self) -> None:
        """Start-up: create the store, read it, record last-seen (errors are only logged)."""
        try:
            self.store.ensure()
            self.now()
        except StoreError as exc:
            log.error("%s: licensed features count as expired until it is fixed", exc)

    # --- state -----------------------------------------------------------------------------

    def features(self) -> list[str]:
        try:
            snap = self.store.snapshot()
        except StoreError:
            return list(KNOWN_FEATURES)
        return sorted(set(KNOWN_FEATURES) | set(snap.first_activation) | set(snap.licences))

    def state(self, feature: str) -> trial.FeatureState:
        """The feature's state; an unusable store counts as an expired trial."""
        _checked(feature)
        try:
            return self._state(feature)
        except StoreError as exc:
            log.error("%s", exc)
            return trial.feature_state(feature, "", None, True, False, None, self.clock())

    def _state(self, feature: str) -> trial.FeatureState:
        now = self.now()
        snap = self.store.snapshot()
        first = snap.first_activation.get(feature)
        valid, expires = self._licence_validity(feature, snap.licences.get(feature),
                                                snap.device_id, now)
        return trial.feature_state(
            feature, snap.device_id, first if isinstance(first, datetime) else None,
            first == CORRUPT, valid, expires, now)

    def status(self, feature: str) -> dict[str, Any]:
        return self.state(feature).as_dict()

    def _licence_validity(self, feature: str, data: bytes | None, device_id: str,
                          now: datetime) -> tuple[bool, datetime | None]:
        if data is None:
            return False, None
        cached = self._licence_cache.get((feature, device_id))
        if cached is None or cached[0] != data:
            try:
                payload = signing.verify(data, self.keys)
                expires = signing.check_payload(payload, feature=feature, device_id=device_id,
                                                now=signing.parse_time(payload["issued_at"]))
                cached = (data, True, expires)
            except signing.LicenceError as exc:
                log.error("stored licence of %r is not valid here: %s", feature, exc)
                cached = (data, False, None)
            self._licence_cache[(feature, device_id)] = cached
        _, valid, expires = cached
        if valid and expires is not None and expires < now:
            return False, expires
        return valid, expires

    # --- actions ---------------------------------------------------------------------------

    def activate(self, feature: str, active: bool) -> str | None:
        """Refusal message, or None (and the first activation is recorded)."""
        if not active:
            return None
        state = self.state(feature)
        if state.trial_expired:
            return _("The %(feature)s trial has expired: upload a licence to activate it again.",
                     feature=_(feature))
        if state.first_activation is None:
            try:
                self.store.record_first_activation(feature, self.now())
            except StoreError as exc:
                log.error("%s", exc)
                return _("The licence store cannot be written: %(error)s", error=str(exc))
            log.info("first activation of %r recorded", feature)
            self.on_change(feature)
        return None

    def sign_in_refusal(self, role: str) -> str | None:
        if role != "billing":
            return None
        state = self.state("billing")
        if state.first_activation is None and not state.record_damaged:
            return None
        if state.trial_expired:
            return _("The billing trial has expired: ask your administrator to upload a licence.")
        return None

    def install_licence(self, feature: str, data: bytes) -> dict[str, Any]:
        """Check an uploaded licence and keep it; raises LicenceError naming the check."""
        _checked(feature)
        now = self.now()
        device_id = self.store.snapshot().device_id
        payload = signing.verify(data, self.keys)
        signing.check_payload(payload, feature=feature, device_id=device_id, now=now)
        self.store.save_licence(feature, data)
        log.info("licence for %r accepted (issued %s, expires %s)", feature,
                 payload["issued_at"], payload["expires"])
        self.on_change(feature)
        return self.status(feature)

    def request_file(self, feature: str) -> bytes:
        """The ``<feature>.ac`` request: product, feature, device, first activation, version."""
        state = self.state(feature)
        body = {
            "product": signing.PRODUCT,
            "feature": feature,
            "device_id": state.device_id,
            "first_activation": state.first_activation.isoformat()
            if state.first_activation else None,
            "software_version": __version__,
            "requested_at": self.now().isoformat(),
        }
        return (json.dumps(body, indent=2) + "\n").encode()
