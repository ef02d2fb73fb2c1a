"""Owner-only files: the database (and its -wal/-shm), the secret key, the licence store.

They hold password hashes, token hashes, PINs and keys: files are created 0600 and
folders 0700, and a file found readable by others (copied in, restored from a backup, an
older version) is tightened at start-up, with one warning line saying so.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def tighten(path: Path, mode: int = FILE_MODE) -> bool:
    """Remove group/other access from ``path`` if it has any; True when it changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if not current & 0o077:
        return False
    os.chmod(path, mode)
    log.warning("%s was readable by other users (mode %04o): now %04o", path, current,
                stat.S_IMODE(path.stat().st_mode))
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) when missing; an existing folder is left as it is (a data
    folder may be shared on purpose; what is inside is owner-only)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 when missing, else tighten it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        tighten(path)
    else:
        os.close(fd)
    return path


def private_sqlite(path: Path) -> None:
    """The SQLite database file created 0600 before SQLite opens it (SQLite gives its
    -wal, -shm and -journal files the database file's mode); existing ones tightened."""
    private_dir(path.parent)
    private_file(path)
    for suffix in SQLITE_SUFFIXES[1:]:
        tighten(Path(str(path) + suffix))
