"""The licence store: modes, atomic files, device identity, damaged files."""

from __future__ import annotations

import stat

from coovox.plugins.licensing import device
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore
from tests.support.licensing import DAY0, issue


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_folder_is_0700_and_files_0600(service, vendor_key):
    service.activate("billing", True)
    service.install_licence("billing", issue(vendor_key, service.status("billing")["device_id"]))
    path = service.store.path
    assert _mode(path) == 0o700
    names = {p.name for p in path.iterdir()}
    assert {"device.json", "last-seen.json", "trial-billing.json", "licence-billing.lic"} <= names
    assert all(_mode(p) == 0o600 for p in path.iterdir())
    assert not [n for n in names if n.endswith(".tmp")]


def test_loose_modes_are_tightened_on_start(store, clock):
    store.path.mkdir(mode=0o755)
    (store.path / "device.json").write_text("{}")
    (store.path / "device.json").chmod(0o644)
    Licensing(store, clock).start()
    assert _mode(store.path) == 0o700
    assert _mode(store.path / "device.json") == 0o600


def test_device_identity_from_machine_id_survives_a_wiped_store(tmp_path, machine_id, clock):
    import shutil

    first = Licensing(LicenceStore(tmp_path / "a", (machine_id,)), clock).status("x")
    shutil.rmtree(tmp_path / "a")
    again = Licensing(LicenceStore(tmp_path / "a", (machine_id,)), clock).status("x")
    assert first["device_id"] == again["device_id"]
    assert device.is_device_id(first["device_id"])
    assert "0123456789abcdef" not in first["device_id"].lower().replace("-", "")


def test_random_identity_without_machine_id_is_kept(tmp_path, clock):
    missing = (tmp_path / "no-machine-id",)
    one = Licensing(LicenceStore(tmp_path / "s", missing), clock).status("x")["device_id"]
    two = Licensing(LicenceStore(tmp_path / "s", missing), clock).status("x")["device_id"]
    other = Licensing(LicenceStore(tmp_path / "t", missing), clock).status("x")["device_id"]
    assert one == two != other


def test_damaged_trial_record_counts_as_expired_and_is_kept(service, store, clock, caplog,
                                                            vendor_key):
    (store.path / "trial-billing.json").write_bytes(b"\x00garbage{")
    state = service.status("billing")
    assert state["trial_expired"] and state["record_damaged"] and not state["usable"]
    assert service.activate("billing", True) is not None
    assert (store.path / "trial-billing.json").read_bytes() == b"\x00garbage{"
    assert "unreadable" in caplog.text
    service.install_licence("billing", issue(vendor_key, state["device_id"]))
    assert service.status("billing")["usable"] is True


def test_other_damaged_files_never_stop_start_up(store, clock, public_key, caplog):
    store.path.mkdir(mode=0o700)
    for name in ("device.json", "last-seen.json", "licence-billing.lic"):
        (store.path / name).write_bytes(b"\xff\xfe not json")
    service = Licensing(store, clock, [public_key])
    service.start()
    state = service.status("billing")
    assert state["licence_uploaded"] is False and device.is_device_id(state["device_id"])
    assert service.activate("billing", True) is None
    assert service.status("billing")["state"] == "trial"
    assert "unreadable" in caplog.text
    caplog.clear()
    service.status("billing")  # the damaged last-seen file was written again
    assert "unreadable" not in caplog.text


def test_changes_by_another_process_are_seen(service, store, clock):
    other = Licensing(LicenceStore(store.path, store.machine_id_paths), clock)
    assert service.status("billing")["first_activation"] is None
    other.activate("billing", True)
    assert service.status("billing")["first_activation"] == DAY0


def test_a_store_that_cannot_be_created_is_logged_not_fatal(tmp_path, clock, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    service = Licensing(LicenceStore(blocker / "licence"), clock)
    service.start()  # start-up goes on
    assert "licence store" in caplog.text
    state = service.status("billing")
    assert state["usable"] is False
    assert service.activate("billing", True) is not None


def test_wipe_removes_only_the_stores_own_files(service, store, tmp_path):
    service.activate("billing", True)
    (store.path / "notes.txt").write_text("someone else's file")
    removed = store.wipe()
    assert any(r.endswith("trial-billing.json") for r in removed)
    assert [p.name for p in store.path.iterdir()] == ["notes.txt"]
    (store.path / "notes.txt").unlink()
    service.activate("billing", True)
    store.wipe()
    assert not store.path.exists()
