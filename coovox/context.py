"""The application context handed to hooks: configuration, plugins, clock, services."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coovox.config import Config
from coovox.events import Event, EventBus
from coovox.plugin_host import PluginHost
from coovox.storage import db
from coovox.storage.files import FILE_MODE, private_dir, tighten

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Coovox:
    """One running CooVox: what every plugin may use.

    ``services`` is where plugins publish objects for others (``services["calls"]`` is
    the call controller once the calls plugin has started; ``services["ari"]`` the ARI
    connection).  ``clock`` returns the current aware UTC time; tests replace it.
    """

    config: Config
    plugins: PluginHost
    clock: Callable[[], datetime] = utcnow
    services: dict[str, Any] = field(default_factory=dict)
    started: bool = False
    events: EventBus = field(init=False)

    def __post_init__(self) -> None:
        self.events = EventBus(self)
        self.plugins.context = self
        self._when_started: list[Callable[[], Awaitable[None]]] = []

    def when_started(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` once every plugin's ``coovox_startup`` has returned (e.g. start
        taking calls: no call reaches a plugin before it started)."""
        self._when_started.append(fn)

    def publish(self, name: str, source: str = "core", **data: Any) -> Event:
        """Publish an event to every plugin's ``coovox_event``; never blocks or raises."""
        return self.events.publish(name, source, data)

    def now(self) -> datetime:
        return self.clock()

    @property
    def secret_key(self) -> bytes:
        """32 bytes for cookie encryption: configured, or generated once in the data dir."""
        if self.config.secret_key:
            return _derive(self.config.secret_key)
        path = self.config.data_path / "secret.key"
        if not path.exists():
            private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        else:
            tighten(path)
        return _derive(path.read_text().strip())

    async def open(self, *, migrate: bool = True, startup: bool = True) -> Coovox:
        """Open the database (applying migrations), apply plugin states, run start-up hooks."""
        from coovox.models import PluginState

        private_dir(self.config.data_path)
        specs = self.plugins.call_all_plugins("coovox_models")
        await db.open_db(self.config.database_url, specs, migrate=migrate)
        states = {row.name: row.enabled for row in await PluginState.all()}
        self.plugins.apply_states(states)
        if startup:
            self.events.start()
            await self._start_plugins()
        return self

    async def _start_plugins(self) -> None:
        """``coovox_startup`` (built-in plugins first); a failure stops start-up naming the
        plugin, after shutting down the plugins already started."""
        from coovox.plugin_host import PluginError

        try:
            await self.plugins.startup()
            self.started = True
            for fn in self._when_started:
                await fn()
        except PluginError:
            log.debug("start-up failed", exc_info=True)
            self.started = True  # let the plugins already started shut down
            await self.close()
            raise
        finally:
            self._when_started.clear()

    async def close(self) -> None:
        if self.started:
            await self.plugins.shutdown()
            self.started = False
        await self.events.stop()
        await db.close_db()

    async def set_plugin_enabled(self, name: str, enabled: bool) -> None:
        """Enable/disable a plugin now and remember the choice in the database."""
        from coovox.models import PluginState

        self.plugins.set_enabled(name, enabled)
        updated = await PluginState.filter(name=name).update(enabled=enabled)
        if not updated:
            await PluginState.create(name=name, enabled=enabled)


def _derive(text: str) -> bytes:
    import hashlib

    return hashlib.sha256(text.encode()).digest()


def data_file(config: Config, *parts: str) -> Path:
    return config.data_path.joinpath(*parts)
