"""Pure rules of the trial: expiry, clock roll-back, the state of a feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TRIAL = timedelta(days=30)
CLOCK_TOLERANCE = timedelta(minutes=5)
LAST_SEEN_EVERY = timedelta(minutes=1)

NOT_ACTIVATED = "not_activated"
TRIAL_RUNNING = "trial"
TRIAL_EXPIRED = "trial_expired"
LICENSED = "licensed"


def effective_now(now: datetime, last_seen: datetime | None) -> datetime:
    """The time rules use: never earlier than the last time the system saw."""
    if last_seen is not None and last_seen > now:
        return last_seen
    return now


def clock_set_back(now: datetime, last_seen: datetime | None) -> bool:
    """True when the clock reads earlier than last-seen by more than the tolerance."""
    return last_seen is not None and now < last_seen - CLOCK_TOLERANCE


def last_seen_due(now: datetime, last_seen: datetime | None) -> bool:
    """Whether last-seen should be written now (at most once a minute, never backwards)."""
    return last_seen is None or now - last_seen >= LAST_SEEN_EVERY


@dataclass(frozen=True)
class FeatureState:
    """A feature's licence state at one moment (see :func:`feature_state`)."""

    feature: str
    device_id: str
    first_activation: datetime | None
    trial_expires_at: datetime | None
    licence_uploaded: bool
    licence_expires_at: datetime | None
    state: str
    record_damaged: bool = False

    @property
    def usable(self) -> bool:
        return self.state in (NOT_ACTIVATED, TRIAL_RUNNING, LICENSED)

    @property
    def trial_expired(self) -> bool:
        return self.state == TRIAL_EXPIRED

    @property
    def expires_at(self) -> datetime | None:
        """When the feature stops being usable; None for never (a permanent licence)."""
        if self.state == LICENSED:
            return self.licence_expires_at
        return self.trial_expires_at

    def as_dict(self) -> dict[str, Any]:
        """The hook's and the API's answer (times as aware datetimes)."""
        return {
            "feature": self.feature,
            "usable": self.usable,
            "state": self.state,
            "first_activation": self.first_activation,
            "expires_at": self.expires_at,
            "never_expires": self.state == LICENSED and self.licence_expires_at is None,
            "licence_uploaded": self.licence_uploaded,
            "device_id": self.device_id,
            "trial_expired": self.trial_expired,
            "record_damaged": self.record_damaged,
        }


def feature_state(feature: str, device_id: str, first_activation: datetime | None,
                  record_damaged: bool, licence_valid: bool,
                  licence_expires_at: datetime | None, now: datetime) -> FeatureState:
    """Decide the state. A damaged first-activation record counts as an expired trial."""
    trial_expires = first_activation + TRIAL if first_activation else None
    if licence_valid:
        state = LICENSED
    elif record_damaged:
        state = TRIAL_EXPIRED
    elif first_activation is None:
        state = NOT_ACTIVATED
    elif now < trial_expires:  # type: ignore[operator]
        state = TRIAL_RUNNING
    else:
        state = TRIAL_EXPIRED
    return FeatureState(feature, device_id, first_activation, trial_expires, licence_valid,
                        licence_expires_at, state, record_damaged)
