"""The licence store: a folder outside the database (0700, files 0600), written atomically.

Files: ``device.json`` (identity), ``trial-<feature>.json`` (first activation, written
once), ``last-seen.json`` and ``licence-<feature>.lic`` (the accepted file's bytes).
A corrupt file is logged and handled safely: a trial record that cannot be read counts
as expired and is never overwritten, so damage never extends a trial.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from coovox.plugins.licensing import device
from coovox.storage.files import tighten

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
CORRUPT = "corrupt"  # value of a trial record that could not be read


class StoreError(Exception):
    """The store folder cannot be created or written; the message says why."""


@dataclass
class Snapshot:
    """What the store held when last read."""

    device_id: str = ""
    device_source: str = ""
    first_activation: dict[str, datetime | str] = field(default_factory=dict)
    last_seen: datetime | None = None
    last_seen_damaged: bool = False
    licences: dict[str, bytes] = field(default_factory=dict)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a 0600 temp file, fsync and rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # some file systems cannot fsync a folder
        pass


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time without offset")
    return parsed


class LicenceStore:
    """Reads and writes the store folder; caches what it read until the folder changes."""

    def __init__(self, path: Path, machine_id_paths: tuple[Path, ...] = device.MACHINE_ID_PATHS):
        self.path = Path(path)
        self.machine_id_paths = machine_id_paths
        self._cache: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None

    # --- folder ----------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the folder (0700) and tighten modes of what is there."""
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            tighten(self.path, DIR_MODE)
            for child in self.path.iterdir():
                if child.is_file():
                    tighten(child, FILE_MODE)
        except OSError as exc:
            raise StoreError(f"licence store {self.path}: {exc.strerror or exc}") from None

    def _write(self, name: str, data: bytes) -> None:
        self.ensure()
        try:
            atomic_write(self.path / name, data)
        except OSError as exc:
            raise StoreError(f"licence store {self.path / name}: cannot write "
                             f"({exc.strerror or exc})") from None
        self._cache = None

    def _stamp_now(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    # --- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The store's content, re-read only when the folder changed since the last read."""
        stamp = self._stamp_now()
        if self._cache is not None and stamp == self._stamp and stamp is not None:
            return self._cache
        snap = self._read()
        self._cache, self._stamp = snap, self._stamp_now()
        return snap

    def _read(self) -> Snapshot:
        self.ensure()
        snap = Snapshot()
        self._read_device(snap)
        for child in sorted(self.path.iterdir()):
            name = child.name
            if name.startswith("trial-") and name.endswith(".json"):
                feature = name[len("trial-"):-len(".json")]
                snap.first_activation[feature] = self._read_trial(child, feature)
            elif name.startswith("licence-") and name.endswith(".lic"):
                try:
                    snap.licences[name[len("licence-"):-len(".lic")]] = child.read_bytes()
                except OSError as exc:
                    log.error("licence store: cannot read %s (%s); licence ignored", child, exc)
        snap.last_seen = self._read_last_seen(snap)
        return snap

    def _read_trial(self, path: Path, feature: str) -> datetime | str:
        try:
            data = json.loads(path.read_bytes())
            if data.get("feature") != feature:
                raise ValueError("names another feature")
            return _time(data["first_activation"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("licence store: trial record %s is unreadable (%s); the trial of %r "
                      "counts as expired until a licence is uploaded", path, exc, feature)
            return CORRUPT

    def _read_last_seen(self, snap: Snapshot) -> datetime | None:
        path = self.path / "last-seen.json"
        if not path.exists():
            return None
        try:
            return _time(json.loads(path.read_bytes())["last_seen"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("licence store: %s is unreadable (%s); using the file's time", path, exc)
            snap.last_seen_damaged = True
            try:
                from datetime import UTC

                return datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except OSError:
                return None

    def _read_device(self, snap: Snapshot) -> None:
        path = self.path / "device.json"
        stored: str | None = None
        if path.exists():
            try:
                value = json.loads(path.read_bytes()).get("device_id")
                if not device.is_device_id(value):
                    raise ValueError("no valid device_id")
                stored = value
            except (OSError, ValueError, AttributeError) as exc:
                log.error("licence store: %s is unreadable (%s); making it again", path, exc)
        machine_id = device.read_machine_id(self.machine_id_paths)
        if machine_id is not None:
            snap.device_id, snap.device_source = device.from_machine_id(machine_id), "machine-id"
        elif stored is not None:
            snap.device_id, snap.device_source = stored, "random"
        else:
            snap.device_id, snap.device_source = device.random_id(), "random"
        if snap.device_id != stored:
            if stored is not None:
                log.warning("licence store: device identity changed from %s to %s",
                            stored, snap.device_id)
            self._write("device.json", _json({"device_id": snap.device_id,
                                              "source": snap.device_source}))

    # --- writing ---------------------------------------------------------------------------

    def record_first_activation(self, feature: str, when: datetime) -> datetime | str:
        """Record the first activation of ``feature`` unless one (even corrupt) exists."""
        path = self.path / f"trial-{feature}.json"
        current = self.snapshot().first_activation.get(feature)
        if current is not None or path.exists():
            return current if current is not None else CORRUPT
        self._write(path.name, _json({"feature": feature,
                                      "first_activation": when.isoformat()}))
        return when

    def touch_last_seen(self, when: datetime) -> None:
        self._write("last-seen.json", _json({"last_seen": when.isoformat()}))

    def save_licence(self, feature: str, data: bytes) -> None:
        self._write(f"licence-{feature}.lic", data)

    def wipe(self) -> list[str]:
        """Delete the store's own files (and the folder when empty); returns what went.

        Only files the store writes are removed, so a mistaken ``licence_dir`` (say ``/``)
        cannot destroy anything else.
        """
        removed: list[str] = []
        if not self.path.is_dir():
            return removed
        for child in sorted(self.path.iterdir()):
            if child.is_file() and is_store_file(child.name):
                child.unlink()
                removed.append(str(child))
        try:
            self.path.rmdir()
            removed.append(str(self.path))
        except OSError:
            log.warning("licence store %s: other files were left in place", self.path)
        self._cache = None
        return removed


def is_store_file(name: str) -> bool:
    """Whether ``name`` is a file the store writes (or a temp file of one)."""
    if name.startswith(".") and name.endswith(".tmp"):
        name = name[1:].split(".json", 1)[0].split(".lic", 1)[0]
        return name.startswith(("device", "last-seen", "trial-", "licence-"))
    return (name in ("device.json", "last-seen.json")
            or (name.startswith("trial-") and name.endswith(".json"))
            or (name.startswith("licence-") and name.endswith(".lic")))
