"""Trial timeline, re-activation, licence checks and clock roll-back (injected clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coovox.plugins.licensing import signing, trial
from coovox.plugins.licensing.services import Licensing
from tests.support.licensing import DAY0, issue


def test_trial_timeline_day_0_29_31(service, clock):
    before = service.status("billing")
    assert before["state"] == "not_activated" and before["first_activation"] is None

    assert service.activate("billing", True) is None
    day0 = service.status("billing")
    assert day0["usable"] and day0["state"] == "trial"
    assert day0["first_activation"] == DAY0
    assert day0["expires_at"] == DAY0 + timedelta(days=30)
    assert day0["licence_uploaded"] is False and day0["device_id"].startswith("CVX-")

    clock.day(29)
    assert service.status("billing")["usable"] is True
    assert service.sign_in_refusal("billing") is None

    clock.day(31)
    day31 = service.status("billing")
    assert day31["usable"] is False and day31["trial_expired"] is True
    assert day31["expires_at"] == DAY0 + timedelta(days=30)


def test_turning_off_and_on_never_restarts_the_trial(service, clock):
    service.activate("billing", True)
    clock.day(10)
    assert service.activate("billing", False) is None
    assert service.activate("billing", True) is None
    assert service.status("billing")["first_activation"] == DAY0
    # a new process on the same store (restart, upgrade) sees the same record
    again = Licensing(service.store.__class__(service.store.path,
                                              service.store.machine_id_paths), clock)
    assert again.status("billing")["first_activation"] == DAY0


def test_reactivation_after_expiry_needs_a_licence(service, clock, vendor_key):
    service.activate("billing", True)
    clock.day(31)
    refusal = service.activate("billing", True)
    assert refusal and "expired" in refusal
    assert service.activate("billing", False) is None  # deactivating is always allowed

    device_id = service.status("billing")["device_id"]
    state = service.install_licence("billing", issue(vendor_key, device_id))
    assert state["usable"] and state["never_expires"] and state["expires_at"] is None
    assert state["licence_uploaded"] is True
    assert service.activate("billing", True) is None
    clock.day(3000)
    assert service.status("billing")["usable"] is True


def test_billing_sign_in_refused_only_after_expiry(service, clock):
    assert service.sign_in_refusal("billing") is None  # never activated
    service.activate("billing", True)
    clock.day(31)
    assert "trial has expired" in service.sign_in_refusal("billing")
    assert service.sign_in_refusal("admin") is None


def test_dated_licence_expires(service, clock, vendor_key):
    device_id = service.status("billing")["device_id"]
    service.activate("billing", True)
    state = service.install_licence("billing", issue(vendor_key, device_id,
                                                     expires="2026-06-30"))
    assert state["state"] == "licensed" and state["expires_at"].date().isoformat() == "2026-06-30"
    clock.now = DAY0.replace(year=2026, month=7, day=2)
    assert service.status("billing")["usable"] is False


@pytest.mark.parametrize("case, check", [
    ("forged", signing.BAD_SIGNATURE),
    ("tampered", signing.BAD_SIGNATURE),
    ("other_device", signing.OTHER_DEVICE),
    ("other_feature", signing.OTHER_FEATURE),
    ("other_product", signing.OTHER_PRODUCT),
    ("truncated", signing.MALFORMED),
    ("garbage", signing.MALFORMED),
    ("no_payload", signing.MALFORMED),
    ("expired", signing.EXPIRED),
])
def test_bad_licences_are_refused_naming_the_check(service, vendor_key, case, check):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    device_id = service.status("billing")["device_id"]
    good = issue(vendor_key, device_id)
    data = {
        "forged": issue(Ed25519PrivateKey.generate(), device_id),
        "tampered": good.replace(b'"never"', b'"2099-01-01"'),
        "other_device": issue(vendor_key, "CVX-00000-00000-00000-00000"),
        "other_feature": issue(vendor_key, device_id, feature="recording"),
        "other_product": issue(vendor_key, device_id, product="someone-else"),
        "truncated": good[: len(good) // 2],
        "garbage": bytes(range(256)) * 4,
        "no_payload": b'{"signature": "AAAA"}',
        "expired": issue(vendor_key, device_id, expires="2026-02-01"),
    }[case]
    with pytest.raises(signing.LicenceError) as info:
        service.install_licence("billing", data)
    assert info.value.check == check
    assert str(info.value)
    state = service.status("billing")
    assert state["licence_uploaded"] is False
    assert not list(service.store.path.glob("licence-*"))


def test_no_trusted_key_configured_refuses(store, clock, vendor_key):
    service = Licensing(store, clock, [])
    with pytest.raises(signing.LicenceError) as info:
        service.install_licence("billing", issue(vendor_key, service.status("billing")
                                                 ["device_id"]))
    assert info.value.check == signing.NO_TRUSTED_KEY


def test_clock_set_back_does_not_extend_the_trial(service, clock, store, public_key, caplog):
    service.activate("billing", True)
    clock.day(31)
    assert service.status("billing")["trial_expired"]
    clock.day(5)  # the clock is set back 26 days
    assert service.status("billing")["trial_expired"]
    assert service.status("billing")["expires_at"] == DAY0 + timedelta(days=30)
    assert caplog.text.count("earlier than the last time seen") == 1  # logged, not spammed
    assert service.activate("billing", True) is not None
    # also after a restart: last-seen is kept in the store
    restarted = Licensing(store.__class__(store.path, store.machine_id_paths), clock,
                          [public_key])
    restarted.start()
    assert restarted.status("billing")["trial_expired"]


def test_small_clock_corrections_are_tolerated(service, clock):
    service.activate("billing", True)
    clock.day(10)
    service.status("billing")
    clock.now -= timedelta(minutes=2)
    assert not trial.clock_set_back(clock.now, service.store.snapshot().last_seen)
    assert service.status("billing")["state"] == "trial"


def test_request_file_names_product_feature_device_and_version(service):
    import json

    from coovox import __version__

    service.activate("billing", True)
    body = json.loads(service.request_file("billing"))
    assert body["product"] == signing.PRODUCT and body["feature"] == "billing"
    assert body["device_id"] == service.status("billing")["device_id"]
    assert body["first_activation"] == DAY0.isoformat()
    assert body["software_version"] == __version__
    assert not {"key", "secret", "private_key"} & set(body)


def test_feature_names_cannot_reach_outside_the_store(service):
    for name in ("../etc", "Billing", "", "a/b"):
        with pytest.raises(ValueError):
            service.activate(name, True)
    assert {p.name for p in service.store.path.iterdir()} == {"device.json", "last-seen.json"}
