"""Issue 14, point 3: the database (and its -wal/-shm), the secret key and the licence store
are owner-only (0600 files, 0700 folders), also when they existed with wider modes (fixed at
start, one warning line each)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _start(data: Path) -> Coovox:
    config = load_config(environ={}, data_dir=str(data))
    app = Coovox(config=config, plugins=PluginHost())
    await app.open()
    app.secret_key  # noqa: B018 - generated on first use, as the web app does
    return app


async def test_a_new_data_folder_is_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        app = await _start(data)
        try:
            db = data / "coovox.sqlite3"
            assert mode(data) == 0o700
            assert mode(db) == 0o600
            for suffix in ("-wal", "-shm"):
                side = Path(str(db) + suffix)
                assert side.exists() and mode(side) == 0o600, suffix
            assert mode(data / "secret.key") == 0o600
            store = data / "licence"
            assert mode(store) == 0o700
            files = [p for p in store.iterdir() if p.is_file()]
            assert files and all(mode(p) == 0o600 for p in files)
        finally:
            await app.close()
    finally:
        os.umask(old)


async def test_wider_modes_are_fixed_at_start_and_logged_once(tmp_path, caplog):
    data = tmp_path / "data"
    app = await _start(data)
    await app.close()
    db = data / "coovox.sqlite3"
    loose = [db, Path(str(db) + "-wal"), Path(str(db) + "-shm"), data / "secret.key"]
    loose += [p for p in (data / "licence").iterdir() if p.is_file()]
    for path in loose:
        if path.exists():
            os.chmod(path, 0o644)
    os.chmod(data / "licence", 0o755)
    caplog.set_level(logging.WARNING)
    app = await _start(data)
    try:
        for path in loose:
            if path.exists():
                assert mode(path) == 0o600, path
        assert mode(data / "licence") == 0o700
        warned = [r.getMessage() for r in caplog.records if "readable by other" in r.getMessage()]
        assert any("coovox.sqlite3 was" in w for w in warned)
        assert any("secret.key" in w for w in warned) and any("licence" in w for w in warned)
        assert len(warned) == len(set(warned))  # each file once
    finally:
        await app.close()
    caplog.clear()
    app = await _start(data)  # nothing left to fix: nothing said
    await app.close()
    assert not [r for r in caplog.records if "readable by other" in r.getMessage()]
