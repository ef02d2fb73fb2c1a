"""Push events: settings, their validation, event bodies and delivery with retries.

No web-server or ARI types here.  Delivery runs in background tasks owned by
:class:`Pusher`; :meth:`Pusher.drain` finishes them when CooVox stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from coovox.api import CallInfo, get_setting, set_setting
from coovox_push_events.models import PushFailure

log = logging.getLogger(__name__)

NAMESPACE = "push_events"
EVENTS = ("call_answered", "call_end")  # the manual's "events" selection
TIMEOUT = 5.0  # seconds per try
TRIES = 3
BACKOFF = (0.5, 1.0)  # wait before the 2nd and the 3rd try
KEEP_FAILURES = 1000
MAX_URL = 500
SETTINGS_TTL = 10.0  # seconds a pusher keeps the settings (a save on another node shows then)


class SettingsError(ValueError):
    """Refused settings; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PushSettings:
    """The manual's fields: Push (on/off), URL, Events."""

    enabled: bool = False
    url: str = ""
    events: tuple[str, ...] = ("call_end",)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["events"] = list(self.events)
        return data

    def wants(self, event: str) -> bool:
        return self.enabled and bool(self.url) and event in self.events


def check_url(text: str) -> str:
    """An http(s) URL with a host, or ``""`` (nothing is pushed); else SettingsError."""
    url = text.strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise SettingsError("url", f"must be at most {MAX_URL} characters")
    if any(c.isspace() for c in url):
        raise SettingsError("url", "must not contain spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SettingsError("url", "must start with http:// or https://")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise SettingsError("url", "has an invalid port") from None
    if not host:
        raise SettingsError("url", "must name a host, e.g. http://crm.example.com/coovox")
    return url


def validate(data: Mapping[str, Any]) -> PushSettings:
    """Settings from a form or JSON body; raises SettingsError naming the field."""
    enabled = data.get("enabled", False)
    if isinstance(enabled, str):
        enabled = enabled.lower() in ("1", "on", "true", "yes")
    if not isinstance(enabled, bool):
        raise SettingsError("enabled", "must be true or false")
    url = data.get("url", "")
    if not isinstance(url, str):
        raise SettingsError("url", "must be text")
    url = check_url(url)
    events = data.get("events", [])
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise SettingsError("events", "must be a list of event names")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise SettingsError("events", f"unknown event {unknown[0]!r} (known: {', '.join(EVENTS)})")
    if enabled and not url:
        raise SettingsError("url", "is required to push events")
    return PushSettings(enabled, url, tuple(e for e in EVENTS if e in events))


async def load_settings() -> PushSettings:
    data = await get_setting(NAMESPACE, "settings")
    if not data:
        return PushSettings()
    return PushSettings(bool(data.get("enabled")), data.get("url", ""),
                        tuple(data.get("events", ())))


_saved = 0  # counts saves in this process: a pusher reloads its settings after one


async def save_settings(settings: PushSettings) -> None:
    global _saved
    await set_setting(NAMESPACE, "settings", settings.as_dict())
    _saved += 1


async def recent_failures(limit: int = 20) -> list[PushFailure]:
    return await PushFailure.all().order_by("-id").limit(limit)


# --- event bodies ---------------------------------------------------------------------------


def call_end_event(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``call_end``: the call-log record as the JSON API shows it."""
    return {"event": "call_end", "time": now.isoformat(), "call": dict(record)}


def call_answered_event(call: CallInfo, now: datetime) -> dict[str, Any]:
    """``call_answered``: what is known of the call when it is answered."""
    answered = call.answered_at or now
    return {"event": "call_answered", "time": now.isoformat(), "call": {
        "id": call.call_id, "started_at": call.started_at.isoformat(),
        "answered_at": answered.isoformat(), "extension": call.extension,
        "extension_name": call.extension_name, "dialed": call.dialed, "sent": call.sent,
        "rule": call.rule, "pin": call.pin}}


# --- delivery ---------------------------------------------------------------------------------


class DeliveryError(Exception):
    """One try failed; ``retry`` says whether another try may help."""

    def __init__(self, message: str, retry: bool):
        super().__init__(message)
        self.retry = retry


class Pusher:
    """Delivers events in background tasks: timeout, retries with backoff, failure log."""

    def __init__(self, clock: Callable[[], datetime], *, timeout: float = TIMEOUT,
                 tries: int = TRIES, backoff: tuple[float, ...] = BACKOFF):
        self.clock = clock
        self.timeout = timeout
        self.tries = tries
        self.backoff = backoff
        self.tasks: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None
        self._settings: PushSettings | None = None
        self._settings_of = (-1, 0.0)  # (saves seen, monotonic time loaded)

    async def settings(self) -> PushSettings:
        """The settings, read from the database after a save here or every SETTINGS_TTL s."""
        now = time.monotonic()
        seen, loaded = self._settings_of
        if self._settings is None or seen != _saved or now - loaded >= SETTINGS_TTL:
            saves = _saved
            self._settings = await load_settings()
            self._settings_of = (saves, now)
        return self._settings

    def submit(self, event: dict[str, Any]) -> None:
        """Queue an event for delivery and return at once (safe on the call path)."""
        task = asyncio.get_running_loop().create_task(self._run(event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, event: dict[str, Any]) -> None:
        try:
            settings = await self.settings()
            if settings.wants(event["event"]):
                await self.deliver(settings.url, event)
        except Exception:
            log.exception("push event %s could not be handled", event.get("event"))

    async def deliver(self, url: str, event: dict[str, Any]) -> bool:
        """POST ``event`` to ``url``; True when delivered, else the failure is logged."""
        error = ""
        attempts = 0
        for attempt in range(self.tries):
            attempts = attempt + 1
            if attempt:
                await asyncio.sleep(self.backoff[min(attempt, len(self.backoff)) - 1])
            try:
                await self._post(url, event)
                return True
            except DeliveryError as exc:
                error = str(exc)
                log.info("push event %s to %s: try %d failed: %s", event["event"], url,
                         attempts, error)
                if not exc.retry:
                    break
        await self._record_failure(url, event, attempts, error)
        return False

    async def _post(self, url: str, event: dict[str, Any]) -> None:
        session = self._client()
        try:
            async with session.post(url, json=event) as resp:
                await resp.read()
                if resp.status >= 500:
                    raise DeliveryError(f"HTTP {resp.status}", retry=True)
                if resp.status >= 400:
                    raise DeliveryError(f"HTTP {resp.status} (refused, not retried)",
                                        retry=False)
        except TimeoutError:
            raise DeliveryError(f"no answer within {self.timeout:g} s", retry=True) from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(str(exc) or exc.__class__.__name__, retry=True) from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": "coovox-push-events"})
        return self._session

    async def _record_failure(self, url: str, event: dict[str, Any], attempts: int,
                              error: str) -> None:
        log.warning("push event %s to %s failed after %d tries: %s", event["event"], url,
                    attempts, error)
        call_id = str(event.get("call", {}).get("id", ""))
        await PushFailure.create(at=self.clock(), event=event["event"], call_id=call_id,
                                 url=url[:MAX_URL], attempts=attempts, error=error[:500])
        old = await PushFailure.all().order_by("-id").offset(KEEP_FAILURES).values_list(
            "id", flat=True)
        if old:
            await PushFailure.filter(id__in=list(old)).delete()

    async def idle(self) -> None:
        """Wait until the events submitted so far are delivered or logged as failed."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def drain(self, timeout: float = 15.0) -> None:
        """Finish in-flight deliveries (up to ``timeout`` s), then close the HTTP client."""
        if self.tasks:
            done, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d push events abandoned at shutdown", len(pending))
        if self._session is not None:
            await self._session.close()
